"""Red-teaming: an attack catalogue, composable mutators, attacker-model campaigns, and findings
turned into regression cases; incidents from the audit log turned into the same.

Run a campaign (offline, scripted target and attacker)::

    result = run_campaign(CampaignConfig(target="reference:worst-case", budget=100), "rt-out")
    result.successes                     # logged attempts whose goal was reached
    result.findings.regressions          # minimised eval cases (suite format)
"""

from ringfence.redteam import _rewrites as _rewrites  # registers split/translate/tense/many-shot
from ringfence.redteam._attacker import (
    SYSTEM_PROMPT as ATTACKER_PROMPT,
)
from ringfence.redteam._attacker import (
    Attacker,
    AttackerRequest,
    AttackerStats,
    Feedback,
    ScriptedAttacker,
    make_attacker,
    parse_prompt,
)
from ringfence.redteam._attempt import (
    AttemptSpec,
    Read,
    Rendered,
    goal_survives,
    instruction_matches,
    recovered,
    render,
)
from ringfence.redteam._campaign import (
    DEFAULT_STACKS,
    CampaignConfig,
    CampaignResult,
    SearchConfig,
    Strategy,
    load_config,
    run_campaign,
    save_summary,
)
from ringfence.redteam._catalogue import (
    Carrier,
    Catalogue,
    Family,
    Framing,
    Placement,
    load_catalogue,
)
from ringfence.redteam._findings import Finding, Findings, ddmin, write_findings
from ringfence.redteam._goals import Goal, GoalExpect, GoalKind, GoalSet, load_goals
from ringfence.redteam._incident import (
    Incident,
    IncidentEvent,
    build_incident,
    create_incident,
    postmortem,
    regression_case,
    support_desk_setup,
)
from ringfence.redteam._incident import (
    select as select_records,
)
from ringfence.redteam._log import Executor, read_log
from ringfence.redteam._mutators import (
    MUTATORS,
    MutationContext,
    Mutator,
    MutatorKind,
    Payload,
    apply_stack,
    get_mutator,
    homoglyph_table,
    mutator,
)
from ringfence.redteam._report import campaign_doc, coverage, render_html, write_report
from ringfence.redteam._rewrites import LANGUAGES, translated
from ringfence.redteam._seeds import seed_framings
from ringfence.redteam._strategies import Search, SearchSettings, catalogue_plan

__all__ = [
    "ATTACKER_PROMPT",
    "DEFAULT_STACKS",
    "LANGUAGES",
    "MUTATORS",
    "Attacker",
    "AttackerRequest",
    "AttackerStats",
    "AttemptSpec",
    "CampaignConfig",
    "CampaignResult",
    "Carrier",
    "Catalogue",
    "Executor",
    "Family",
    "Feedback",
    "Finding",
    "Findings",
    "Framing",
    "Goal",
    "GoalExpect",
    "GoalKind",
    "GoalSet",
    "Incident",
    "IncidentEvent",
    "MutationContext",
    "Mutator",
    "MutatorKind",
    "Payload",
    "Placement",
    "Read",
    "Rendered",
    "ScriptedAttacker",
    "Search",
    "SearchConfig",
    "SearchSettings",
    "Strategy",
    "apply_stack",
    "build_incident",
    "campaign_doc",
    "catalogue_plan",
    "coverage",
    "create_incident",
    "ddmin",
    "get_mutator",
    "goal_survives",
    "homoglyph_table",
    "instruction_matches",
    "load_catalogue",
    "load_config",
    "load_goals",
    "make_attacker",
    "mutator",
    "parse_prompt",
    "postmortem",
    "read_log",
    "recovered",
    "regression_case",
    "render",
    "render_html",
    "run_campaign",
    "save_summary",
    "seed_framings",
    "select_records",
    "support_desk_setup",
    "translated",
    "write_findings",
    "write_report",
]

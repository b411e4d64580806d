"""Fast, precise rules: the first layer of the injection detector.

Each rule is a precompiled regular expression over the *normalised* text (see
:func:`ringfence.guards._detector_text.normalize`), with an id. Rules aim at precision,
not recall: they name well-known injection / jailbreak constructions ("ignore all
previous instructions", fake ``[system]`` markers, "do anything now", requests for the
system prompt, an instruction addressed to the AI reading a document, ...). Recall is the
trained model's job.

Two guards keep them precise on security writing and everyday text:

* a hit inside double quotes on the same line (``"ignore previous instructions"``) is
  treated as a quotation and does not count;
* a rule may carry a *veto* pattern matched against the 40 characters before the hit
  (``never send your password`` is advice, not an attack).

Each rule also names the *tokens* it needs (groups of alternatives; every group must meet
the text's tokens): the regex runs only then, so ordinary text costs one set test per rule.
Most rules also name the literals a match starts with; their regex is then tried only at
those literals' occurrences (``Pattern.match`` at a position) instead of scanning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

_QUOTES: Final = frozenset('"“”«»„')
_OPENERS: Final = frozenset("\"'‘’“”«»„`")
_NEGATION_VETO: Final = (
    r"(?:never|not|n't|no|asks? (?:you )?to|asking (?:you )?to|ask for|request(?:s|ing)? to"
    r"|how (?:to|do i|can i)|whether to|should i)\s+(?:[\w-]+\s+){0,2}$"
)
_OBJ: Final = (
    r"(?:instructions?|prompts?|directives?|guidelines|guardrails|programming|commands|"
    r"rules|restrictions|constraints|training)"
)
_AI: Final = r"(?:ai|llm|gpt|chatgpt|language model|chatbot|ki|ia)"
_AI_ROLE: Final = (
    r"(?:assistant|agent|model|system|tool|bot|reader|assistenten|asistente|assistente)"
)
_RISKY_VERB: Final = (
    r"(?:send|forward|transfer|pay|wire|delete|share|upload|post|reveal|e-?mail|ignore|"
    r"disregard|forget|run|execute|buy|book|reset|disable|export|approve|collect|bcc|cancel|"
    r"print|give|rate|tell|say|add|set|change|close|merge|reply|paste|read|ask|stop|"
    r"sende|ignoriere|envía|ignora|paga|transfère|ignore[rz]?)"
)


@dataclass(frozen=True)
class Rule:
    """One precompiled rule; each set in ``needs`` must share a token with the text."""

    id: str
    pattern: re.Pattern[str]
    needs: tuple[frozenset[str], ...]
    starts: tuple[str, ...] | None = None
    veto_before: re.Pattern[str] | None = None
    description: str = ""


def _rule(rid: str, regex: str, needs: str, *, starts: str | None = None,
          veto: str | None = None, doc: str = "") -> Rule:  # fmt: skip
    """``needs``: token groups separated by ``&``, alternatives by spaces.

    ``starts``: ``|``-separated literals with which every match begins (the regex is then
    tried only at their occurrences); None scans the whole text.
    """
    groups = tuple(frozenset(group.split()) for group in needs.split("&"))
    anchors = tuple(starts.split("|")) if starts else None
    return Rule(rid, re.compile(regex), groups, anchors, re.compile(veto) if veto else None, doc)


RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "override.ignore_previous",
        r"\b(?:ignore|disregard|forget|override|bypass|abandon|neglect)\s+(?:all\s+|any\s+|of\s+)*"
        r"(?:the\s+|your\s+|these\s+|those\s+|my\s+)?(?:previous|prior|above|preceding|earlier|"
        r"foregoing|original|initial|former|system|developer)\s+(?:\w+\s+)?" + _OBJ + r"\b"
        r"(?!\s+(?:in|about|for|on|from|regarding|of)\s+(?:the|this|that|our|my)\b)(?!\s+(?:i|we)\b)",
        "ignore disregard forget override bypass abandon neglect",
        starts="ignore|disregard|forget|override|bypass|abandon|neglect",
        doc="ignore / disregard all previous instructions",
    ),
    _rule(
        "override.ignore_your_rules",
        r"\b(?:ignore|disregard|forget|override|bypass|abandon|drop|break|violate|escape|"
        r"free yourself from)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:your|the ai's|the model's)\s+"
        r"(?:\w+\s+)?" + _OBJ + r"\b",
        "ignore disregard forget override bypass abandon drop break violate escape yourself"
        " & your ai model",
        starts="ignore|disregard|forget|override|bypass|"
        "abandon|drop|break|violate|escape|free yourself",
        doc="ignore your rules / programming / guidelines",
    ),
    _rule(
        "override.ignore_previous_i18n",
        r"\b(?:ignorier(?:e|en sie|t)?|vergiss|vergessen sie|missachte)\s+(?:alle\s+)?"
        r"(?:deine\s+|ihre\s+|die\s+)?(?:vorherigen|bisherigen|vorigen|obigen|früheren|"
        r"ursprünglichen)?\s*(?:anweisungen|instruktionen|befehle|regeln|vorgaben)"
        r"|\bignore[rz]?\s+(?:toutes\s+)?(?:les|tes|vos)\s+(?:instructions|consignes|règles)"
        r"\s+(?:précédentes|antérieures)"
        r"|\bignora(?:r)?\s+(?:todas\s+)?(?:las|tus|sus)\s+(?:instrucciones|indicaciones|reglas)"
        r"\s+(?:anteriores|previas)"
        r"|\bignora(?:re)?\s+(?:tutte\s+)?(?:le)\s+(?:istruzioni|indicazioni|regole)"
        r"\s+(?:precedenti|anteriori)"
        r"|\bignor[ea](?:r)?\s+(?:todas\s+)?(?:as)\s+(?:instruções|regras)\s+anteriores",
        "ignorier ignoriere ignorieren ignoriert vergiss vergessen missachte ignore ignorer ignorez"
        " ignora ignorar ignorare",
        starts="ignor|vergiss|vergessen|missacht",
        doc="ignore previous instructions in German, French, Spanish, Italian, Portuguese",
    ),
    _rule(
        "delimiter.fake_system",
        r"\[\[?\s*(?:system|sys|admin|developer)(?:\s+(?:message|override|note|instruction|"
        r"prompt|update))?\s*\]\]?|<\|?\s*(?:system|im_start\|>\s*system)\s*\|?>|<<\s*sys\s*>>"
        r"|\bsystem\s+(?:override|message\s+to\s+(?:the\s+)?assistant)\b"
        r"|(?:^|\n)\s*#{2,}\s*(?:system|new\s+instructions?)\b",
        "system sys admin developer im_start new",
        doc="fake system / developer message markers inside content",
    ),
    _rule(
        "jailbreak.dan",
        r"\b(?:do anything now|dan mode|(?:chatgpt|ai|assistant|model)\s+(?:with|in)\s+"
        r"developer mode|developer mode (?:output|response)s?|jailbreak(?:ed)? mode"
        r"|(?:you are|you're|act as|become)\s+(?:now\s+)?(?:dan|jailbroken|an? jailbroken\s+\w+)\b"
        r"|anti-?dan|evil confidant|aim stands for)",
        "anything dan developer jailbreak jailbreaked jailbroken anti antidan evil aim",
        doc="DAN / developer-mode / jailbroken persona",
    ),
    _rule(
        "jailbreak.no_restrictions",
        r"\byou(?:\s+(?:are|will|have|now|can|must|should|shall|'re|'ll))*\s+(?:be\s+)?"
        r"(?:no longer bound by|not bound by|free from|free of|freed from|exempt from|"
        r"released from|without|have no|no)\s+(?:any\s+|all\s+|the\s+|your\s+|more\s+)?"
        r"(?:ethical\s+|moral\s+|content\s+|safety\s+|openai\s+)?(?:restrictions|rules|filters|"
        r"limits|limitations|guidelines|censorship|constraints|guardrails|boundaries|morals|"
        r"ethics)\b",
        "you & restrictions rules filters limits limitations guidelines censorship constraints"
        " guardrails boundaries morals ethics",
        starts="you",
        doc="you have no restrictions / are free of all rules",
    ),
    _rule(
        "exfil.system_prompt",
        r"\b(?:reveal|print|show|output|repeat|display|tell|leak|dump|disclose|share|write out|"
        r"give|recite|spell out)\s+(?:me\s+|us\s+)?(?:your|all of your|the ai's)\s+(?:full\s+|"
        r"entire\s+|complete\s+|exact\s+|original\s+|initial\s+|hidden\s+|secret\s+|internal\s+)*"
        r"(?:system\s+prompt|system\s+message|initial\s+prompt|hidden\s+prompt|pre-?prompt|"
        r"(?:hidden|original|initial|secret|internal|system)\s+instructions)"
        r"|\b(?:repeat|print|output)\s+(?:everything|all(?: the text)?|the (?:text|words))\s+"
        r"(?:above|before this)"
        r"|\bwhat (?:is|are|were) your (?:system prompt|(?:hidden|original|initial|secret)"
        r" instructions)",
        "reveal print show output repeat display tell leak dump disclose share write give recite"
        " spell what & prompt preprompt message instructions above before",
        starts="reveal|print|show|output|repeat|display|tell|leak|"
        "dump|disclose|share|write|give|recite|spell|what",
        doc="requests to reveal the system prompt / hidden instructions",
    ),
    _rule(
        "exfil.conceal_from_user",
        r"\b(?:do not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|"
        r"alert(?:ing)?|mention(?:ing)?|report(?:ing)?|warn(?:ing)?)\s+(?:(?:this|it|that|"
        r"anything)\s+(?:to\s+)?)?(?:the|your)\s+(?:user|owner)\b"
        r"|\b(?:do not|don't|never|must not)\s+(?:mention|reveal|disclose|report)\s+"
        r"(?:this|these|it)(?:\s+(?:instructions?|messages?|steps?|changes?|rules?|commands?))?"
        r"\s+(?:to the user|in (?:your|the) (?:answer|reply|response|summary))",
        "tell telling inform informing notify notifying alert alerting mention mentioning report"
        " reporting warn warning reveal disclose",
        starts="do not|don't|never|without|must not",
        doc="hide the action from the user",
    ),
    _rule(
        "indirect.addressed_to_ai",
        r"(?:\b(?:attention|note|message|instructions?|text|answer|hinweis|nota|mensaje|"
        r"instruction)\s+(?:to|for|an|pour|para|per)\s+(?:the\s+|any\s+|all\s+|den\s+|l'|el\s+)?"
        + _AI
        + r"(?:[- ]"
        + _AI_ROLE
        + r")?s?\b"
        r"|\b(?:if you are|dear|hey|attention),?\s+(?:an?\s+|the\s+)?" + _AI + r"(?:[- ]based)?"
        r"[- ]" + _AI_ROLE + r"\b"
        r"|\b" + _AI + r"[- ]?" + _AI_ROLE + r"s?\s+(?:reading|processing|parsing|summari[sz]ing|"
        r"installing|cloning|answering|managing|handling)\s+(?:this|these)\b"
        r"|\b(?:assistant|agent|chatbot) reading this\b)"
        r"(?=[^\n]{0,200}?\b" + _RISKY_VERB + r"\b)",
        "ai llm gpt chatgpt language chatbot ki ia assistant agent",
        doc="an instruction addressed to the AI that reads the content, asking for an action",
    ),
    _rule(
        "exfil.send_secrets",
        r"\b(?:send|forward|e-?mail|upload|post|paste|share|transfer|exfiltrate|leak|give)\s+"
        r"(?:me\s+|us\s+|them\s+)?(?:all\s+|every\s+|the\s+|your\s+|their\s+|any\s+|user's\s+|"
        r"the user's\s+|saved\s+|stored\s+)*(?:passwords?|credentials|api[ _-]?keys?|"
        r"secret keys?|private keys?|access tokens?|verification codes?|2fa codes?|ssh keys?|"
        r"session cookies?|env(?:ironment)? variables|card numbers?)\b"
        r"(?!\s+(?:reset|link|manager|policy|field|hash|requirements|header"
        r"|in the (?:\w+\s+)?header))",
        "password passwords credentials api api_key api_keys apikey apikeys secret private access"
        " verification 2fa ssh session env environment card",
        starts="send|forward|e-mail|email|upload|post|paste|share|transfer|exfiltrate|leak|give",
        veto=_NEGATION_VETO,
        doc="send passwords / keys / codes somewhere",
    ),
    _rule(
        "jailbreak.pwned",
        r"\bi have been pwned\b|\bi've been pwned\b",
        "pwned",
        starts="i have|i've",
        doc="the HackAPrompt target phrase",
    ),
    _rule(
        "obfuscation.decode_and_follow",
        r"\b(?:decode|decrypt|deobfuscate|unscramble|reverse)\b[^\n]{0,80}?\b(?:and|then)\s+"
        r"(?:follow|execute|obey|run|do what|carry out|perform|act on)\b",
        "decode decrypt deobfuscate unscramble reverse",
        starts="decode|decrypt|deobfuscate|unscramble|reverse",
        doc="decode this payload and follow it",
    ),
    _rule(
        "override.new_task",
        r"\byour (?:new|only|real|true|actual) (?:task|goal|objective|purpose|mission|"
        r"instructions?)\s+(?:is|are|now is|is now)\b"
        r"|\b(?:from now on|starting now|henceforth),?\s+you (?:are|will be|will act as|act as)"
        r"\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|evil|rogue|jailbroken|amoral)",
        "task goal objective purpose mission instruction instructions unrestricted unfiltered"
        " uncensored evil rogue jailbroken amoral",
        starts="your|from now on|starting now|henceforth",
        doc="your new task is ... / from now on you are an unrestricted ...",
    ),
)


def _quoted(text: str, start: int) -> bool:
    """True inside double quotes on the same line, or right after an opening quote mark."""
    if start > 0 and text[start - 1] in _OPENERS:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    return sum(1 for ch in text[line_start:start] if ch in _QUOTES) % 2 == 1


def _candidates(rule: Rule, text: str) -> Iterator[re.Match[str]]:
    """Matches of the rule: at its start literals' occurrences, or anywhere."""
    if rule.starts is None:
        yield from rule.pattern.finditer(text)
        return
    positions: set[int] = set()
    for literal in rule.starts:
        i = text.find(literal)
        while i >= 0:
            positions.add(i)
            i = text.find(literal, i + 1)
    for pos in sorted(positions):
        match = rule.pattern.match(text, pos)
        if match is not None:
            yield match


def _fires(rule: Rule, text: str) -> bool:
    for match in _candidates(rule, text):
        if _quoted(text, match.start()):
            continue
        if rule.veto_before is not None:
            before = text[max(0, match.start() - 40) : match.start()]
            if rule.veto_before.search(before):
                continue
        return True
    return False


_TOKEN: Final = re.compile(r"\w+|[^\w\s]+")


def rule_hits(normalized: str, tokens: set[str] | None = None) -> tuple[str, ...]:
    """Ids of the rules that fire on an already normalised text, in table order.

    ``tokens`` (the text's token set, as the model tokenises it) is computed when absent.
    """
    if tokens is None:
        tokens = set(_TOKEN.findall(normalized))
    return tuple(
        rule.id
        for rule in RULES
        if all(not tokens.isdisjoint(group) for group in rule.needs) and _fires(rule, normalized)
    )

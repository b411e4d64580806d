"""One chat-completions request through the proxy, minus the network: label the conversation,
run the input checks, shape the upstream request, and check what comes back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ringfence.exceptions import ConfigError
from ringfence.gateway import Gateway, Session
from ringfence.policy import Principal, ProxySpec
from ringfence.server._conversation import Labelled, label_request, validate_messages
from ringfence.server._decide import ChoiceOutcome, blocked_outcome, decide_choice
from ringfence.server._guarding import Check, ContentChecker
from ringfence.server._metrics import Metrics
from ringfence.server._stream import StreamFilter
from ringfence.server._wire import Json, error_body, refusal_chunks, refusal_completion


def proxy_spec(gateway: Gateway) -> ProxySpec:
    """The policy's ``proxy:`` section, or the defaults."""
    return gateway.policy.spec.proxy or ProxySpec()


@dataclass
class Refusal:
    """A request the proxy answers itself: a refusal (HTTP 200) or an error (status)."""

    status: int
    body: Json
    stream: list[bytes] | None = None


@dataclass
class Exchange:
    """The proxy's side of one request. Methods are synchronous (they may write the audit log
    durably); the app runs them in a worker thread."""

    gateway: Gateway
    checker: ContentChecker
    metrics: Metrics
    principal: Principal
    body: Json
    session_id: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    session: Session = field(init=False)
    labelled: Labelled = field(init=False, default_factory=Labelled)

    def __post_init__(self) -> None:
        self.session = self.gateway.session(self.principal, self.session_id or self.request_id)

    @property
    def spec(self) -> ProxySpec:
        return proxy_spec(self.gateway)

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    # --- request ---------------------------------------------------------------------------

    def prepare(self) -> Json | Refusal:
        """The body to send upstream, or the answer when the request may not go there."""
        try:
            messages = validate_messages(self.body)
            if not isinstance(self.body.get("model"), str):
                raise ConfigError("'model' must be a string")
        except ConfigError as exc:
            return Refusal(400, error_body(str(exc), "invalid_request_error", "invalid_request"))
        self.labelled = label_request(self.session, messages, self.checker)
        self._observe(*self.labelled.input_checks, *self.labelled.scans)
        if self.labelled.non_text and not self.spec.allow_non_text_content:
            kinds = ", ".join(sorted(set(self.labelled.non_text)))
            return Refusal(
                400,
                error_body(
                    f"content parts of type {kinds} cannot be checked by the guards and are not "
                    "accepted (policy proxy.allow_non_text_content)",
                    "invalid_request_error",
                    "unscannable_content",
                    "messages",
                ),
            )
        blocked = self.labelled.input_blocked
        if blocked is not None:
            return self._refuse_input(blocked)
        return self._upstream_body()

    def _refuse_input(self, check: Check) -> Refusal:
        if self.spec.on_blocked_input == "error":
            why = (
                "a safety check could not be completed"
                if check.verdict == "error"
                else ("the request was blocked by the input guards")
            )
            return Refusal(400, error_body(why, "content_blocked", "content_blocked", "messages"))
        extra = self.report([], blocked_input=check)
        if self.stream:
            chunks = refusal_chunks(self.model, self.spec.refusal_message, extra=extra)
            return Refusal(200, {}, chunks)
        return Refusal(200, refusal_completion(self.model, self.spec.refusal_message, extra=extra))

    def _upstream_body(self) -> Json:
        body = dict(self.body)
        tools = body.get("tools")
        if self.spec.filter_tools and isinstance(tools, list):
            kept = [t for t in tools if self._offered(t)]
            if kept:
                body["tools"] = kept
            else:
                for key in ("tools", "tool_choice", "parallel_tool_calls"):
                    body.pop(key, None)
        return body

    def _offered(self, tool: Any) -> bool:
        """Least privilege: the model is offered only tools the policy may ever allow."""
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        name = fn.get("name") if isinstance(fn, Mapping) else None
        compiled = self.gateway.policy.tools.get(str(name))
        return compiled is not None and compiled.spec.effect != "deny"

    # --- response --------------------------------------------------------------------------

    def _decide(
        self, content: str | None, refusal: str | None, calls: list[Json], finish: str | None
    ) -> ChoiceOutcome:
        outcome = decide_choice(
            self.session,
            self.checker,
            self.spec,
            content=content,
            refusal=refusal,
            tool_calls=calls,
            finish_reason=finish,
        )
        if outcome.output is not None:
            self._observe(outcome.output)
        for d in outcome.decisions:
            self.metrics.decisions.inc(d.decision)
        return outcome

    def respond(self, upstream: Json) -> tuple[int, Json]:
        """Check a non-streaming upstream response; returns (status, body for the client)."""
        outcomes = []
        body = dict(upstream)
        choices = []
        for choice in upstream.get("choices") or ():
            message = dict(choice.get("message") or {})
            outcome = self._decide(
                message.get("content"),
                message.get("refusal"),
                list(message.get("tool_calls") or ()),
                choice.get("finish_reason"),
            )
            outcomes.append(outcome)
            if outcome.blocked and self.spec.on_blocked_output == "error":
                return 400, error_body(
                    "the response was blocked by the output guards",
                    "content_blocked",
                    "output_blocked",
                )
            choices.append(_rewrite_choice(choice, message, outcome))
        body["choices"] = choices
        body["ringfence"] = self.report(outcomes)
        return 200, body

    def stream_filter(self) -> StreamFilter:
        return StreamFilter(
            self._decide,
            lambda text: self._observe(self.checker.check(self.session, text, "output"))[0],
            self.spec.stream_hold_back,
            refusal_text=self.spec.refusal_message,
            block_as_error=self.spec.on_blocked_output == "error",
            extra=self.report,
            block=lambda o: blocked_outcome(self.session, self.spec, o.output, o.decisions),
        )

    def report(self, outcomes: list[ChoiceOutcome], blocked_input: Check | None = None) -> Json:
        """The ``ringfence`` object added to responses: what was checked and decided."""
        out: Json = {
            "request_id": self.request_id,
            "session": self.session.id,
            "choices": [o.public() for o in outcomes],
        }
        if blocked_input is not None:
            out["input"] = blocked_input.summary()
        return out

    def _observe(self, *checks: Check) -> tuple[Check, ...]:
        for check in checks:
            self.metrics.guard_verdicts.inc(check.direction, check.verdict)
            self.metrics.guard_latency.observe(check.latency_ms / 1000, check.direction)
        return checks


def _rewrite_choice(choice: Mapping[str, Any], message: Json, outcome: ChoiceOutcome) -> Json:
    new = dict(choice)
    message["content"] = outcome.content
    if outcome.blocked:
        message["refusal"] = outcome.content
    elif outcome.refusal is not None or "refusal" in message:
        message["refusal"] = outcome.refusal  # as the output guards rewrote it
    if outcome.tool_calls:
        message["tool_calls"] = outcome.tool_calls
    else:
        message.pop("tool_calls", None)
    message.pop("function_call", None)  # legacy function calling is not forwarded
    new["message"] = message
    new["finish_reason"] = outcome.finish_reason
    return new

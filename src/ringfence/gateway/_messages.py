"""What the model is told when a call is not executed: clear, and without leaking the policy
(no thresholds, rule internals, other customers' data or whether a resource exists)."""

from __future__ import annotations

from ringfence.policy import ReasonCategory, Verdict

_PHRASES: dict[ReasonCategory, str] = {
    "undeclared": "this tool is not available",
    "tool": "this action is not permitted",
    "argument": "an argument is outside what is allowed",
    "ownership": "the requested resource is not accessible for this user",
    "cap": "a usage limit has been reached",
    "provenance": "a value in the request did not come from a trusted source",
    "rule": "the request is not permitted by policy",
}


def refusal_message(tool: str, verdict: Verdict) -> str:
    """The text returned to the model in place of a tool result."""
    if verdict.decision == "approve":
        text = (
            f"The call to '{tool}' needs approval by a person and has not been executed. "
            "Tell the user it is waiting for review."
        )
    elif verdict.decision == "error":
        text = (
            f"The call to '{tool}' was not executed: a safety check could not be completed. "
            "Do not retry it; tell the user the action could not be done right now."
        )
    else:
        why = "; ".join(_PHRASES[c] for c in verdict.categories) or "it is not permitted"
        text = (
            f"The call to '{tool}' was refused ({why}). Do not retry it with the same "
            "arguments; tell the user the action could not be done."
        )
    if verdict.public_message:
        text += f" {verdict.public_message}"
    return text


_APPROVAL: dict[str, str] = {
    "pending": "needs approval by a person and has not been executed. Tell the user it is "
    "waiting for review.",
    "denied": "was not approved by a reviewer and has not been executed. Do not retry it.",
    "expired": "was not approved in time and has not been executed.",
    "cancelled": "was cancelled and has not been executed.",
    "error": "could not be sent for approval and has not been executed. Do not retry it; tell "
    "the user the action could not be done right now.",
}


def approval_message(tool: str, status: str) -> str:
    """What the model is told about a call that needed a person's approval."""
    return f"The call to '{tool}' " + _APPROVAL.get(status, _APPROVAL["error"])


def invalid_args_message(tool: str, detail: str) -> str:
    return f"The call to '{tool}' has invalid arguments: {detail}"

"""The bundled reference agent "support desk": an in-memory shop, its tools, a shipped policy."""

from ringfence.agents.support_desk._env import (
    DEFAULT_CUSTOMER,
    SupportDeskEnvironment,
    load_shipped_policy,
    policy_path,
)
from ringfence.agents.support_desk._world import (
    PROMPT_CANARY,
    SYSTEM_PROMPT,
    DocumentSetup,
    EmailSetup,
    SupportDeskSetup,
    SupportDeskWorld,
)

__all__ = [
    "DEFAULT_CUSTOMER",
    "PROMPT_CANARY",
    "SYSTEM_PROMPT",
    "DocumentSetup",
    "EmailSetup",
    "SupportDeskEnvironment",
    "SupportDeskSetup",
    "SupportDeskWorld",
    "load_shipped_policy",
    "policy_path",
]

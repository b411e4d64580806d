"""ringfence: the deployment-time safety layer for LLM applications and tool-using agents."""

from ringfence._version import __version__

__all__ = ["__version__"]

"""fleetui: a terminal fleet manager for the LLM models your apps use."""

__version__ = "0.1.0"

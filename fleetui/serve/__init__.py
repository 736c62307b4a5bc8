"""`fleetui serve`: a local HTTP gateway in the providers' own wire formats (OpenAI and
Anthropic) that routes with the fleet's rules and records every call into fleetui's store.

    OPENAI_BASE_URL=http://127.0.0.1:4141/v1   ANTHROPIC_BASE_URL=http://127.0.0.1:4141

Modules: `wire` (endpoints, request checks, error bodies), `resolve` (model names to chains),
`upstream` (pooled provider clients and their keys), `recording` (calls for the recorder),
`status` (live figures for the app), `app` (the ASGI application), `server` (the socket).
"""

from fleetui.serve.server import ServeError, ServeOptions, build_gateway, serve

__all__ = ["ServeError", "ServeOptions", "build_gateway", "serve"]

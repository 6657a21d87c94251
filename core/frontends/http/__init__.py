"""The local HTTP API: OpenAI-compatible model endpoints and Toolsmith's tools API.

``create_app(api_key=..., open_engine=..., model_name=...)`` builds the Litestar
app; ``toolsmith serve`` runs it with uvicorn. See docs/http.md.
"""

from .app import create_app

__all__ = ["create_app"]

"""Built-in plugin: Ollama's API on `toolsmith serve`, so clients that only speak Ollama work.

``/api/chat``, ``/api/generate``, ``/api/tags``, ``/api/show`` and ``/api/version``, with
Ollama's NDJSON streaming. It is registered through ``toolsmith_register_routes`` exactly
as a third-party plugin would be; the routes live in `ollama_routes` so that loading
plugins (every CLI start) does not import Litestar.
"""

from toolsmith.core import hookimpl


@hookimpl
def toolsmith_register_routes(register):
    from toolsmith.plugins.ollama_routes import router

    register(router)

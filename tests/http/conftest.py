"""A real server on 127.0.0.1 (uvicorn in a thread, a free port) serving a tiny random model.

The model folder is built once per session with the engine tests' builders; each
module gets its own server, and every test still has its own TOOLSMITH_HOME (the
tools API reads it per request).
"""

from pathlib import Path

import pytest

from toolsmith.core.frontends.http import create_app

from live_server import CONTEXT, KEY, MODEL, Server, open_tiny, small_config  # first: it puts tests/engine on sys.path

import tiny_models  # noqa: I001


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-llama")
    tiny_models.build(folder, "llama-tied", max_position_embeddings=CONTEXT)  # room for the forge's long prompt
    return folder


@pytest.fixture(scope="module")
def server(model_dir):
    app = create_app(api_key=KEY, open_engine=open_tiny(model_dir), model_name=MODEL, config=small_config())
    with Server(app) as running:
        yield running


@pytest.fixture(scope="module")
def offline(model_dir):
    """The same tiny model in the offline engine: what the server's answers are compared with."""
    from toolsmith.core.engine import LLM

    return LLM(model_dir, dtype="float32")

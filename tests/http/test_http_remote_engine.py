"""The `remote` backend against our own server on loopback: same answers as the engine it fronts."""

import asyncio

import pytest

from toolsmith.core.base.config import Config, EngineConfig, ForgeConfig
from toolsmith.core.engine import AsyncEngine, Engine, RequestError, SamplingParams, Tokenizer
from toolsmith.core.forge.generate import stream_deltas
from toolsmith.core.tools.model_registry import open_engine
from toolsmith.plugins.remote_backend import KEY_ENV, RemoteEngine, RemoteError

from live_server import KEY, MODEL, collect

GREEDY = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
MESSAGES = [{"role": "user", "content": "Make a tool that counts words"}]


@pytest.fixture(scope="module")
def remote(server):
    return RemoteEngine(server.url + "/v1", api_key=KEY)


def test_it_satisfies_the_engine_protocol(remote):
    assert isinstance(remote, Engine)


def test_token_id_prompt_matches_the_engine(remote, offline):
    ids = [10, 200, 31, 4, 99, 7]
    outputs = collect(remote.generate(ids, GREEDY))
    expected = offline.generate(ids, GREEDY)[0]
    final = outputs[-1]
    assert final.finished and final.finish_reason == "length"
    assert final.text == expected.text and final.token_ids == expected.token_ids
    assert final.prompt_token_ids == ids
    assert "".join(o.outputs[0].delta_text for o in outputs) == final.text
    assert all(not o.finished for o in outputs[:-1])


def test_text_prompt_and_n_completions(remote, offline):
    params = SamplingParams(n=2, temperature=0.8, seed=3, max_tokens=5, ignore_eos=True)
    final = collect(remote.generate("Rename every photo", params))[-1]
    expected = offline.generate("Rename every photo", params)[0]
    assert [c.text for c in final.outputs] == [c.text for c in expected.outputs]
    assert final.prompt_token_ids == expected.prompt_token_ids


def test_chat_goes_through_the_servers_chat_template(remote, offline, model_dir):
    prompt = Tokenizer.from_folder(model_dir).encode_chat(MESSAGES, add_generation_prompt=True)
    final = collect(remote.generate_chat(MESSAGES, GREEDY))[-1]
    assert final.text == offline.generate(prompt, GREEDY)[0].text
    assert final.prompt_token_ids == prompt


class Unconstrained:
    """A local engine as the forge sees a remote one: without Lark grammars (the remote backend cannot send them)."""

    constraints = RemoteEngine.constraints

    def __init__(self, engine):
        self.generate_chat = engine.generate_chat


def test_the_forge_gets_the_same_reply_remotely_as_locally(remote, model_dir):
    settings = ForgeConfig(max_tokens=64, temperature=0.2)
    local = AsyncEngine(model_dir, dtype="float32")
    try:
        here = "".join(stream_deltas(Unconstrained(local), MESSAGES, settings))
    finally:
        local.shutdown()
    assert "".join(stream_deltas(remote, MESSAGES, settings)) == here


def test_leaving_early_aborts_the_request_on_the_server(remote, server):
    before = server.wait_idle()

    async def two_then_leave():
        stream = remote.generate([5, 6, 7], SamplingParams(temperature=0, max_tokens=400, ignore_eos=True))
        outputs = [await anext(stream), await anext(stream)]
        await stream.aclose()
        return outputs

    assert len(asyncio.run(two_then_leave())) == 2
    after = server.wait_idle()
    assert after["toolsmith_generation_tokens_total"] - before["toolsmith_generation_tokens_total"] < 400
    assert remote.metrics().num_running == 0


def test_tokenizer_asks_the_server(remote, model_dir):
    local = Tokenizer.from_folder(model_dir)
    assert remote.tokenizer.encode("Café déjà vu") == local.encode("Café déjà vu")
    assert remote.tokenizer.decode(local.encode("naïve façade")) == "naïve façade"
    assert remote.tokenizer.encode_chat(MESSAGES) == local.encode_chat(MESSAGES, add_generation_prompt=True)


def test_server_refusals_become_request_errors(remote):
    with pytest.raises(RequestError, match="max_tokens"):
        collect(remote.generate("hi", SamplingParams(max_tokens=5000)))


def test_an_unreachable_server_is_a_clear_error():
    engine = RemoteEngine("http://127.0.0.1:9/v1")
    with pytest.raises(RemoteError, match="cannot talk to the model server at http://127.0.0.1:9/v1"):
        collect(engine.generate("hi", GREEDY))


def test_configured_as_the_engine_backend(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    config = Config(engine=EngineConfig(backend="remote", url=server.url))
    engine = open_engine(config)
    assert isinstance(engine, RemoteEngine) and engine.base_url == server.url + "/v1"
    final = collect(engine.generate("hi", GREEDY))[-1]
    assert engine.model == MODEL and len(final.token_ids) == 8
    with pytest.raises(RemoteError, match="must start with http"):
        RemoteEngine("127.0.0.1:8000")

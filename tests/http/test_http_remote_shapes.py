"""The `remote` backend in front of servers shaped like vLLM (our own), llama.cpp's server and Ollama's OpenAI layer."""


import openai
import pytest

from toolsmith.core.base.config import ForgeConfig
from toolsmith.core.engine import SamplingParams, Tokenizer
from toolsmith.core.forge.generate import stream_deltas
from toolsmith.core.frontends.http import create_app
from toolsmith.plugins.remote_backend import RemoteEngine, RemoteError, create

from live_server import KEY, Server, collect, small_config
from upstream_shapes import llama_cpp_app, ollama_app

GREEDY = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)
MESSAGES = [{"role": "user", "content": "Make a tool that counts words"}]
TOOLS = [{"type": "function", "function": {"name": "count", "description": "count words", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]


@pytest.fixture(scope="module")
def llama_cpp(server, model_dir):
    with Server(llama_cpp_app(server.url, model_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def ollama(server):
    with Server(ollama_app(server.url)) as running:
        yield running


@pytest.fixture(scope="module")
def local(model_dir):
    return Tokenizer.from_folder(model_dir)


def test_each_upstreams_tokenize_shape_is_found(server, llama_cpp, ollama):
    assert RemoteEngine(server.url, api_key=KEY).tokenizer.shape() == "vllm"
    assert RemoteEngine(llama_cpp.url).tokenizer.shape() == "llama.cpp"
    assert RemoteEngine(ollama.url).tokenizer.shape() == "none"


def test_llama_cpp_tokenize_detokenize_and_chat_template(llama_cpp, local):
    tokenizer = RemoteEngine(llama_cpp.url).tokenizer
    assert tokenizer.encode("Café déjà vu") == local.encode("Café déjà vu")
    assert tokenizer.decode(local.encode("naïve façade")) == "naïve façade"
    assert tokenizer.encode_chat(MESSAGES) == local.encode_chat(MESSAGES, add_generation_prompt=True)
    assert tokenizer.encode_chat(MESSAGES, tools=TOOLS) == local.encode_chat(MESSAGES, add_generation_prompt=True, tools=TOOLS)


def test_without_a_tokenize_route_counting_is_refused_naming_the_fix(ollama):
    with pytest.raises(RemoteError, match=r"has no tokenize route .*set \[engine\] tokenizer"):
        RemoteEngine(ollama.url).tokenizer.encode("hi")


def test_a_local_tokenizer_counts_in_front_of_ollama(ollama, model_dir, local):
    engine = create(url=ollama.url, tokenizer=str(model_dir))
    assert engine.tokenizer.shape() == "local"
    assert engine.tokenizer.encode_chat(MESSAGES) == local.encode_chat(MESSAGES, add_generation_prompt=True)
    assert engine.tokenizer.eos_token_ids == frozenset(local.eos_token_ids)


@pytest.mark.parametrize("upstream", ["llama_cpp", "ollama"])
def test_the_forge_chats_through_each_upstream(upstream, request, server):
    settings = ForgeConfig(max_tokens=24, temperature=0.2)
    direct = "".join(stream_deltas(RemoteEngine(server.url, api_key=KEY), MESSAGES, settings))
    shaped = request.getfixturevalue(upstream)
    assert "".join(stream_deltas(RemoteEngine(shaped.url), MESSAGES, settings)) == direct


def test_logprobs_pass_through_from_vllm_shaped_completions(server, offline):
    params = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True, logprobs=3)
    final = collect(RemoteEngine(server.url, api_key=KEY).generate([10, 200, 31], params))[-1]
    expected = offline.generate([10, 200, 31], params)[0].outputs[0]
    assert [lp.token_id for lp in final.logprobs] == final.token_ids == expected.token_ids
    assert [lp.logprob for lp in final.logprobs] == pytest.approx([lp.logprob for lp in expected.logprobs], abs=1e-4)
    for got, want in zip(final.logprobs, expected.logprobs, strict=True):  # alternatives come as texts: those that are one token
        assert got.top and {t for t, _ in got.top} <= {t for t, _ in want.top}


def test_logprobs_pass_through_from_llama_cpp_chat(llama_cpp, local, offline):
    params = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True, logprobs=2)
    final = collect(RemoteEngine(llama_cpp.url).generate_chat(MESSAGES, params))[-1]
    expected = offline.generate(local.encode_chat(MESSAGES, add_generation_prompt=True), params)[0].outputs[0]
    assert [lp.token_id for lp in final.logprobs] == expected.token_ids  # the ids llama.cpp puts in each entry
    assert [lp.logprob for lp in final.logprobs] == pytest.approx([lp.logprob for lp in expected.logprobs], abs=1e-4)
    assert all(len(lp.top) <= 2 for lp in final.logprobs)


def test_toolsmith_serve_in_front_of_llama_cpp(llama_cpp, local):
    """The whole chain: the openai client → toolsmith serve (remote engine) → a llama.cpp-shaped server."""
    app = create_app(api_key=KEY, open_engine=lambda: RemoteEngine(llama_cpp.url), model_name="upstream", config=small_config())
    with Server(app) as front:
        client = openai.OpenAI(base_url=front.url + "/v1", api_key=KEY)
        asked = dict(model="upstream", messages=MESSAGES, max_tokens=5, temperature=0, tools=TOOLS)
        reply = client.chat.completions.create(**asked, logprobs=True, top_logprobs=1)
        assert reply.usage.prompt_tokens > len(local.encode_chat(MESSAGES, add_generation_prompt=True))  # the tools are in the prompt
        assert reply.usage.completion_tokens == len(reply.choices[0].logprobs.content) == 5
        streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**asked, stream=True) if c.choices)
        assert streamed == reply.choices[0].message.content
        with pytest.raises(openai.BadRequestError, match="Lark grammar"):  # a forced call needs a grammar the upstream cannot take
            client.chat.completions.create(**asked, tool_choice="required")

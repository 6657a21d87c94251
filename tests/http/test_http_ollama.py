"""The Ollama-compatible plugin with the official `ollama` client: the same answers as the OpenAI routes."""

import json

import httpx
import jsonschema
import ollama
import openai
import pytest
from live_server import AUTH, KEY, MODEL
from test_http_tool_calling import TOOLS, WEATHER

MESSAGES = [{"role": "user", "content": "Count the lines of each file"}]
GREEDY = {"temperature": 0, "top_k": 0, "top_p": 1, "repeat_penalty": 1}


@pytest.fixture(scope="module")
def client(server):
    return ollama.Client(host=server.url, headers={"Authorization": f"Bearer {KEY}"})


@pytest.fixture(scope="module")
def openai_client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


def test_it_is_registered_like_any_plugin(server):
    plugins = httpx.get(server.url + "/api/plugins", headers=AUTH).json()
    assert any("ollama_api" in json.dumps(p) for p in plugins)


def test_tags_show_and_version(client):
    assert [m.model for m in client.list().models] == [MODEL]
    shown = client.show(MODEL)
    assert "completion" in shown.capabilities and "im_start" in shown.template
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("nope")
    assert caught.value.status_code == 404 and "nope" in caught.value.error


def test_chat_equals_the_openai_route(client, openai_client):
    expected = openai_client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=8, temperature=0).choices[0].message.content
    answer = client.chat(model=MODEL, messages=MESSAGES, stream=False, options={**GREEDY, "num_predict": 8})
    assert answer.message.content == expected and answer.done and answer.eval_count <= 8
    pieces = list(client.chat(model=MODEL, messages=MESSAGES, stream=True, options={**GREEDY, "num_predict": 8}))
    assert "".join(p.message.content for p in pieces) == expected
    assert pieces[-1].done and pieces[-1].done_reason in ("stop", "length") and not any(p.done for p in pieces[:-1])


def test_generate_streams_ndjson(server, client):
    whole = client.generate(model=MODEL, prompt="Rename photos", raw=True, options={**GREEDY, "num_predict": 6})
    with httpx.stream("POST", server.url + "/api/generate", headers=AUTH, json={"model": MODEL, "prompt": "Rename photos", "raw": True, "options": {**GREEDY, "num_predict": 6}}) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert "".join(line["response"] for line in lines) == whole.response and lines[-1]["done"] is True


def test_format_schema_is_enforced(client):
    answer = client.chat(model=MODEL, messages=MESSAGES, format=WEATHER, options={"seed": 1})
    jsonschema.validate(json.loads(answer.message.content), WEATHER)


def test_tools_round_trip(client, server):
    # the random model calls a tool only if it happens to; the tools must reach the prompt either way
    answer = client.chat(model=MODEL, messages=MESSAGES, tools=TOOLS, options={"seed": 2, "num_predict": 16})
    plain = client.chat(model=MODEL, messages=MESSAGES, options={"seed": 2, "num_predict": 1})
    assert answer.done and answer.prompt_eval_count > plain.prompt_eval_count + 50  # the tools are in the prompt
    history = [*MESSAGES, {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}}]}, {"role": "tool", "content": "rain", "tool_name": "get_weather"}]
    follow = client.chat(model=MODEL, messages=history, tools=TOOLS, options={"num_predict": 3})
    assert follow.done and follow.prompt_eval_count > answer.prompt_eval_count  # the call and its result rendered back


def test_unsupported_options_are_refused_by_name(client):
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=MODEL, messages=MESSAGES, options={"mirostat": 2})
    assert caught.value.status_code == 400 and "mirostat" in caught.value.error
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=MODEL, messages=MESSAGES, think=True)
    assert "think" in caught.value.error

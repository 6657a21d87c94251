"""Tool calling with the official `openai` client: tools reach the template, forced calls parse, the round trip renders back.

Two tiny random models: one whose chat template takes tools (written like Qwen2.5's),
and the shared one whose plain ChatML template does not (it gets the tools in a
Hermes-style system message). A random model calls a tool only when the grammar makes it.
"""

import json

import httpx
import jsonschema
import openai
import pytest

from toolsmith.core.frontends.http import create_app

from live_server import AUTH, CONTEXT, KEY, MODEL, Server, open_tiny, small_config
from tool_models import build_qwen_tools

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 8}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "The forecast for a city", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "list_files", "parameters": {"type": "object", "properties": {"hidden": {"type": "boolean"}}, "required": ["hidden"], "additionalProperties": False}}},
]
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    folder = build_qwen_tools(tmp_path_factory.mktemp("tiny-qwen-tools"), CONTEXT)
    app = create_app(api_key=KEY, open_engine=open_tiny(folder), model_name=MODEL, config=small_config())
    with Server(app) as running:
        yield running


@pytest.fixture(scope="module", params=["qwen-template", "chatml-fallback"])
def served(request, qwen, server):
    return qwen if request.param == "qwen-template" else server


def client_of(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


def prompt_text(server, body):
    tokens = httpx.post(server.url + "/tokenize", headers=AUTH, json=body).json()["tokens"]
    return httpx.post(server.url + "/detokenize", headers=AUTH, json={"tokens": tokens}).json()["prompt"]


def test_tools_reach_the_chat_template(served):
    with_tools = prompt_text(served, {"messages": MESSAGES, "tools": TOOLS})
    assert "get_weather" in with_tools and "The forecast for a city" in with_tools
    assert "get_weather" not in prompt_text(served, {"messages": MESSAGES})


def test_required_call_parses_and_follows_the_schema(served):
    result = client_of(served).chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=TOOLS, tool_choice="required", parallel_tool_calls=False, seed=1, max_tokens=120
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id.startswith("call_")
    schema = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}[call.function.name]
    jsonschema.validate(json.loads(call.function.arguments), schema)


def test_named_choice_calls_that_tool(served):
    for seed in range(3):
        result = client_of(served).chat.completions.create(
            model=MODEL, messages=MESSAGES, tools=TOOLS, seed=seed, max_tokens=400,
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )  # fmt: skip
        calls = result.choices[0].message.tool_calls
        assert calls and {c.function.name for c in calls} == {"get_weather"}
        if result.choices[0].finish_reason == "length":  # parallel calls: the last one may be cut off
            calls = calls[:-1]
        for call in calls:
            jsonschema.validate(json.loads(call.function.arguments), WEATHER)


def test_streamed_tool_calls_equal_the_whole_answer(served):
    ask = dict(model=MODEL, messages=MESSAGES, tools=TOOLS, tool_choice="required", seed=2, max_tokens=200)
    whole = client_of(served).chat.completions.create(**ask).choices[0]
    calls: dict[int, dict] = {}
    finish = None
    for chunk in client_of(served).chat.completions.create(**ask, stream=True):
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                if delta.id is not None:  # the first delta of a call: id, type and name, empty arguments
                    assert delta.type == "function" and delta.function.name and delta.function.arguments == ""
                    calls[delta.index] = {"id": delta.id, "name": delta.function.name, "arguments": ""}
                calls[delta.index]["arguments"] += delta.function.arguments or ""
    assert finish == whole.finish_reason
    assert [(c["name"], c["arguments"]) for c in calls.values()] == [(c.function.name, c.function.arguments) for c in whole.message.tool_calls]


def test_round_trip_renders_the_call_and_the_result_back(served):
    client = client_of(served)
    first = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False, seed=3, max_tokens=120,
    )  # fmt: skip
    call = first.choices[0].message.tool_calls[0]
    history = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 degrees"},
    ]
    prompt = prompt_text(served, {"messages": history, "tools": TOOLS})
    assert "<tool_response>\nsunny, 21 degrees\n</tool_response>" in prompt
    assert json.dumps(json.loads(call.function.arguments)) in prompt  # the call, its arguments re-encoded as the template does
    second = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, tool_choice="none", max_tokens=5, seed=1)
    assert second.choices[0].message.tool_calls is None and second.choices[0].finish_reason in ("stop", "length")


def test_auto_lets_the_model_answer_in_text(served):
    result = client_of(served).chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS, max_tokens=8, temperature=0)
    choice = result.choices[0]
    assert choice.finish_reason in ("stop", "length") and choice.message.tool_calls is None and choice.message.content


def test_a_named_choice_that_is_not_a_tool_is_refused(served):
    with pytest.raises(openai.BadRequestError) as caught:
        client_of(served).chat.completions.create(
            model=MODEL, messages=MESSAGES, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "rm_rf"}}
        )
    assert caught.value.body["param"] == "tool_choice" and "rm_rf" in caught.value.body["message"]

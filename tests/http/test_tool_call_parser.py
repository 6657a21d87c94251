"""Tool-call parsing per family: streamed in any pieces, it agrees with the whole reply."""

import json

import pytest

from toolsmith.core.frontends.http import tool_calls as tc

HERMES_REPLY = 'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": {"n": 2}}}\n</tool_call>\n<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>'
LLAMA_REPLY = '{"name": "get_weather", "parameters": {"city": "Oslo"}}'
MISTRAL_REPLY = '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "now", "arguments": {}}]</s>'


def streamed(family, text, step, drop=()):
    parser = tc.ToolCallParser(family, drop)
    parts = [parser.feed(text[i : i + step]) for i in range(0, len(text), step)] + [parser.finish()]
    content = "".join(p.content for p in parts)
    calls: dict[int, dict] = {}
    for delta in (d for p in parts for d in p.calls):
        call = calls.setdefault(delta.index, {"id": delta.id, "name": delta.function.name, "arguments": ""})
        if delta.id is not None:
            assert call["id"] == delta.id and delta.function.name is not None and delta.function.arguments == ""  # the first delta
        call["arguments"] += delta.function.arguments or ""
    return content, [calls[i] for i in sorted(calls)]


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_hermes(step):
    content, calls = streamed(tc.HERMES, HERMES_REPLY, step)
    assert content == "Let me look.\n"
    assert [c["name"] for c in calls] == ["get_weather", "now"]
    assert [json.loads(c["arguments"]) for c in calls] == [{"city": "Paris", "days": {"n": 2}}, {}]
    assert all(c["id"].startswith("call_") for c in calls)


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_llama3(step):
    content, calls = streamed(tc.LLAMA3, LLAMA_REPLY, step)
    assert content == "" and calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"city": "Oslo"}
    content, calls = streamed(tc.LLAMA3, "<|python_tag|>" + LLAMA_REPLY, step)
    assert len(calls) == 1
    content, calls = streamed(tc.LLAMA3, "The weather is {fine}.", step)
    assert content == "The weather is {fine}." and calls == []


@pytest.mark.parametrize("step", [1, 4, 1000])
def test_mistral_with_nine_character_ids(step):
    content, calls = streamed(tc.MISTRAL, MISTRAL_REPLY, step, drop=("</s>",))
    assert content == ""
    assert [c["name"] for c in calls] == ["get_weather", "now"] and all(len(c["id"]) == 9 for c in calls)


def test_plain_text_and_broken_calls_stay_content():
    assert streamed(tc.HERMES, "No tools needed: a < b.", 2) == ("No tools needed: a < b.", [])
    assert streamed(tc.HERMES, "<tool_call>\nnot json", 3) == ("<tool_call>\nnot json", [])


def test_arguments_written_before_the_name_are_parsed_whole():
    content, calls = streamed(tc.HERMES, '<tool_call>{"arguments": {"a": 1}, "name": "f"}</tool_call>', 2)
    assert calls[0]["name"] == "f" and json.loads(calls[0]["arguments"]) == {"a": 1}


def test_whole_reply():
    content, calls = tc.whole(tc.ToolCallParser(tc.HERMES), HERMES_REPLY)
    assert content == "Let me look.\n" and [c.function.name for c in calls] == ["get_weather", "now"]
    assert tc.whole(tc.ToolCallParser(tc.HERMES), "just text") == ("just text", [])

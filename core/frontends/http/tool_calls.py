"""Tool calling: tools into the chat template, the model's calls out of its reply, per model family.

Families differ in how a model writes a call (``docs/http.md`` lists them):

* Hermes / Qwen: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, one block per call;
* Llama 3.x: the reply is one JSON object ``{"name": ..., "parameters": {...}}``
  (optionally after ``<|python_tag|>``);
* Mistral: ``[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]``.

A chat template that never mentions ``tools`` cannot show them to the model; such models
get the tools in a Hermes-style system message and answer in Hermes's format.
``tool_choice`` "required" or a named function becomes a Lark grammar of the family's call
format (the arguments following each tool's JSON schema), so a small model cannot miss.

`ToolCallParser` splits a reply into content and calls as it streams; a whole reply is
the same parser fed all at once, so streamed and non-streamed answers agree.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field

from . import openai_types as oa
from .errors import ApiError


@dataclass(frozen=True)
class Family:
    name: str
    start: str | None  # the text that opens the calls; None: the reply itself is the call (Llama 3)
    args_key: str
    id_length: int = 24  # Mistral's templates insist on 9-character ids


HERMES = Family("hermes", "<tool_call>", "arguments")
LLAMA3 = Family("llama3", None, "parameters")
MISTRAL = Family("mistral", "[TOOL_CALLS]", "arguments", id_length=9)
PYTHON_TAG = "<|python_tag|>"

FALLBACK_PROMPT = """\
# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>"""


@dataclass(frozen=True)
class ToolSetup:
    """How one model shows tools and writes calls."""

    family: Family
    renders_tools: bool  # the chat template itself takes `tools`
    marker_is_special: bool  # the start marker is a special token: decode without skipping special tokens


def setup_for(tokenizer) -> ToolSetup:
    template = getattr(tokenizer, "tool_chat_template", None) or getattr(tokenizer, "chat_template", None) or ""
    has_token = getattr(tokenizer, "token_to_id", lambda _: None)
    renders = "tools" in template
    if has_token("[TOOL_CALLS]") is not None:
        return ToolSetup(MISTRAL, renders, _is_special(tokenizer, "[TOOL_CALLS]"))
    if "<tool_call>" in template or not renders:
        return ToolSetup(HERMES, renders, False)
    if PYTHON_TAG in template or '"parameters"' in template or "parameters" in template:
        return ToolSetup(LLAMA3, renders, _is_special(tokenizer, PYTHON_TAG))
    return ToolSetup(HERMES, renders, False)


def _is_special(tokenizer, text: str) -> bool:
    token = tokenizer.token_to_id(text)
    return token is not None and token in getattr(tokenizer, "all_special_ids", set())


# -- the request side


def tool_dicts(tools: list[oa.Tool]) -> list[dict]:
    """Tools as Hugging Face templates take them: OpenAI's ``{"type": "function", "function": {...}}``."""
    out = []
    for tool in tools:
        function = {"name": tool.function.name}
        if tool.function.description is not None:
            function["description"] = tool.function.description
        function["parameters"] = tool.function.parameters if tool.function.parameters is not None else {"type": "object", "properties": {}}
        out.append({"type": "function", "function": function})
    return out


def chosen_tools(data: oa.ChatRequest) -> list[dict]:
    """The tools the template sees: none for tool_choice "none"; a named choice must name one of them."""
    choice = data.tool_choice
    if not data.tools:
        if choice not in (None, "none", "auto"):
            raise ApiError(400, "tool_choice asks for a tool call but the request has no tools", "tool_choice")
        return []
    tools = tool_dicts(data.tools)
    if choice == "none":
        return []
    if isinstance(choice, oa.NamedToolChoice):
        names = [t["function"]["name"] for t in tools]
        if choice.function.name not in names:
            raise ApiError(400, f"tool_choice names {choice.function.name!r}, which is not among the tools ({', '.join(names)})", "tool_choice")
    return tools


def template_messages(messages: list[dict], raw: list[oa.ChatMessage], tools: list[dict], setup: ToolSetup | None) -> list[dict]:
    """The messages as the template expects them, with earlier tool calls and tool results rendered back.

    `messages` are the plain ``{"role", "content"}`` dicts of `raw`. Templates that take
    tools get ``tool_calls`` (arguments as objects, as Hugging Face's templates read them)
    and ``role: "tool"`` messages; others get both written out in Hermes's format.
    """
    renders = setup is not None and setup.renders_tools
    out = []
    for plain, message in zip(messages, raw, strict=True):
        item = dict(plain)
        if item["role"] == "developer":
            item["role"] = "system"
        if message.tool_calls:
            calls = [_history_call(c) for c in message.tool_calls]
            if renders:
                item["tool_calls"] = calls
            else:
                blocks = [f"<tool_call>\n{json.dumps({'name': c['function']['name'], 'arguments': c['function']['arguments']})}\n</tool_call>" for c in calls]
                item["content"] = "\n".join(filter(None, [item["content"], *blocks]))
        if item["role"] == "tool":
            if renders:
                if message.tool_call_id is not None:
                    item["tool_call_id"] = message.tool_call_id
                if message.name is not None:
                    item["name"] = message.name
            else:
                item = {"role": "user", "content": f"<tool_response>\n{item['content']}\n</tool_response>"}
        out.append(item)
    if tools and not renders:
        listing = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
        prompt = FALLBACK_PROMPT.format(tools=listing)
        if out and out[0]["role"] == "system":
            out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{prompt}"}
        else:
            out.insert(0, {"role": "system", "content": prompt})
    return out


def _history_call(call: oa.ToolCall) -> dict:
    try:
        arguments = json.loads(call.function.arguments)
    except json.JSONDecodeError:
        arguments = call.function.arguments
    return {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": arguments}}


def call_grammar(setup: ToolSetup, tools: list[dict], data: oa.ChatRequest, tokenizer) -> str | None:
    """A Lark grammar that makes the reply one (or, with parallel_tool_calls, several) calls; None for "auto"."""
    choice = data.tool_choice
    if not tools or choice in (None, "auto"):
        return None
    if isinstance(choice, oa.NamedToolChoice):
        tools = [t for t in tools if t["function"]["name"] == choice.function.name]
    family = setup.family
    bodies = " | ".join(f"%json {json.dumps(_call_schema(t, family.args_key))}" for t in tools)
    parallel = data.parallel_tool_calls
    if family is LLAMA3:
        return f"start: body\nbody: {bodies}\n"
    if family is MISTRAL:
        marker = tokenizer.token_to_id("[TOOL_CALLS]")
        start = f"<[{marker}]>" if setup.marker_is_special else json.dumps("[TOOL_CALLS]")
        more = ' ("," body)*' if parallel else ""
        return f'start: {start} "[" body{more} "]"\nbody: {bodies}\n'
    more = ' ("\\n" call)*' if parallel else ""
    return f'start: call{more}\ncall: "<tool_call>\\n" body "\\n</tool_call>"\nbody: {bodies}\n'


def _call_schema(tool: dict, args_key: str) -> dict:
    function = tool["function"]
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]}, args_key: function["parameters"]},
        "required": ["name", args_key],
        "additionalProperties": False,
        "x-guidance": {"whitespace_flexible": False, "lenient": True},
    }


# -- the reply side


@dataclass
class _Call:
    index: int
    id: str
    start: int  # where its JSON object starts in the parser's buffer
    name: str | None = None
    args_start: int | None = None
    args_sent: int = 0
    announced: bool = False


@dataclass
class Parsed:
    content: str = ""
    calls: list[oa.ToolCallDelta] = field(default_factory=list)


_NAME_FIRST = re.compile(r'\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*(,\s*"(?:arguments|parameters)"\s*:\s*)?')


class ToolCallParser:
    """Content and tool-call deltas of one completion, fed its text as it arrives."""

    def __init__(self, family: Family, drop: tuple[str, ...] = ()):
        self.family = family
        self.drop = drop  # special-token texts (EOS) that are not content
        self.calling = False
        self.buffer = ""  # content mode: text held back; calls mode: everything after the start marker
        self.marker = ""
        self.calls: list[_Call] = []
        self._scan = 0  # calls mode: how far the JSON scanner has read
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._open: _Call | None = None
        self._decided = family.start is not None  # Llama 3: whether the reply is a call is decided at its start

    @property
    def called(self) -> bool:
        return any(c.announced for c in self.calls)

    def feed(self, text: str) -> Parsed:
        self.buffer += text
        out = Parsed()
        if not self.calling:
            out.content = self._content()
        if self.calling:
            self._read_calls(out, final=False)
        return out

    def finish(self) -> Parsed:
        out = Parsed()
        if not self.calling:
            out.content, self.buffer = self.buffer, ""
        else:
            self._read_calls(out, final=True)
            if not self.called:  # a start marker and no call after it: it was text after all
                out.content = self.marker + self.buffer
        out.content = self._clean(out.content)
        return out

    def _clean(self, text: str) -> str:
        for token in self.drop:
            text = text.replace(token, "")
        return text

    def _content(self) -> str:
        if self.family.start is None:
            return self._llama_start()
        found = self.buffer.find(self.family.start)
        if found >= 0:
            content, self.marker = self.buffer[:found], self.family.start
            self.buffer = self.buffer[found + len(self.family.start) :]
            self.calling = True
            return self._clean(content)
        hold = _partial_suffix(self.buffer, self.family.start)
        content, self.buffer = self.buffer[: len(self.buffer) - hold], self.buffer[len(self.buffer) - hold :]
        return self._clean(content)

    def _llama_start(self) -> str:
        if self._decided:
            content, self.buffer = self.buffer, ""
            return self._clean(content)
        stripped = self.buffer.lstrip()
        if stripped.startswith(PYTHON_TAG):
            self.marker, self.buffer, self.calling = PYTHON_TAG, stripped[len(PYTHON_TAG) :], True
        elif stripped.startswith("{"):
            self.buffer, self.calling = stripped, True
        elif not stripped or PYTHON_TAG.startswith(stripped):
            return ""
        self._decided = True
        return "" if self.calling else self._llama_start()

    def _read_calls(self, out: Parsed, final: bool) -> None:
        text = self.buffer
        while self._scan < len(text):
            ch = text[self._scan]
            if self._open is None:
                if ch == "{":
                    self._open = _Call(len(self.calls), _call_id(self.family.id_length), self._scan)
                    self._depth = 1
            elif self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
            elif ch == '"':
                self._in_string = True
            elif ch == "{":
                self._depth += 1
            elif ch == "}":
                self._depth -= 1
                if self._depth == 0:
                    self._close(self._open, self._scan, out)
                    self._open = None
            self._scan += 1
        if self._open is not None:
            self._stream_open(self._open, out, final)

    def _stream_open(self, call: _Call, out: Parsed, final: bool) -> None:
        """Announce the call once its name is read, then send its arguments as they grow."""
        if call.name is None and not self._read_name(call):
            return
        if not call.announced:
            self._announce(call, out)
        end = len(self.buffer) if final else len(self.buffer.rstrip("} \n\t\r"))
        self._send_args(call, max(end, call.args_start), out)

    def _close(self, call: _Call, end: int, out: Parsed) -> None:
        raw = self.buffer[call.start : end + 1]
        if call.name is None:
            self._read_name(call)
        if call.name is None:  # not name-first: parse it whole
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                return
            args = value.get(self.family.args_key, value.get("arguments")) if isinstance(value, dict) else None
            if not isinstance(value, dict) or not isinstance(value.get("name"), str) or args is None:
                return
            call.name = value["name"]
            self._announce(call, out)
            arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
            out.calls.append(oa.ToolCallDelta(index=call.index, function=oa.FunctionDelta(arguments=arguments)))
            return
        if not call.announced:
            self._announce(call, out)
        args_end = len(self.buffer[:end].rstrip())
        self._send_args(call, args_end, out)

    def _read_name(self, call: _Call) -> bool:
        """Whether the call's object starts with its name and then its arguments (then they can stream)."""
        found = _NAME_FIRST.match(self.buffer, call.start)
        if found is None or found.group(2) is None:
            return False
        call.name = json.loads(found.group(1))
        call.args_start = found.end()
        return True

    def _announce(self, call: _Call, out: Parsed) -> None:
        call.announced = True
        self.calls.append(call)
        out.calls.append(
            oa.ToolCallDelta(index=call.index, id=call.id, type="function", function=oa.FunctionDelta(name=call.name, arguments=""))
        )

    def _send_args(self, call: _Call, end: int, out: Parsed) -> None:
        start = call.args_start + call.args_sent
        if end > start:
            out.calls.append(oa.ToolCallDelta(index=call.index, function=oa.FunctionDelta(arguments=self.buffer[start:end])))
            call.args_sent += end - start


def _partial_suffix(text: str, marker: str) -> int:
    """The length of the longest end of `text` that could be the start of `marker`."""
    for n in range(min(len(text), len(marker) - 1), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


def _call_id(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(length))
    return body if length < 24 else f"call_{body}"


def whole(parser: ToolCallParser, text: str) -> tuple[str | None, list[oa.ResponseToolCall]]:
    """A finished reply as (content, tool calls): the streamed deltas, joined."""
    parts = [parser.feed(text), parser.finish()]
    content = "".join(p.content for p in parts)
    calls: dict[int, oa.ResponseToolCall] = {}
    for delta in (d for p in parts for d in p.calls):
        if delta.index not in calls:
            calls[delta.index] = oa.ResponseToolCall(id=delta.id, function=oa.ResponseFunctionCall(name=delta.function.name, arguments=""))
        calls[delta.index].function.arguments += delta.function.arguments or ""
    ordered = [calls[i] for i in sorted(calls)]
    return (content or None) if ordered else content, ordered

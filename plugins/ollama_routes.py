"""Ollama's API in front of the served engine: chat, generate, tags, show, version.

The same engine, chat template, tool calling, JSON grammars and fill-in-the-middle as
the OpenAI-compatible routes, in Ollama's shapes: streaming is on unless ``stream`` is
false, one JSON object per line (``application/x-ndjson``), the last with ``done: true``
and Ollama's counts and durations (nanoseconds). Errors are ``{"error": "..."}``.
As everywhere in Toolsmith, a field or option this server cannot honour is refused by
name (400), never ignored.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import Stream

from toolsmith.core.base.errors import ToolsmithError
from toolsmith.core.frontends.http import fim, tool_calls
from toolsmith.core.frontends.http import openai_types as oa
from toolsmith.core.frontends.http.errors import handle_http_exception, handle_toolsmith_error
from toolsmith.core.frontends.http.openai_routes import render_chat
from toolsmith.core.frontends.http.streaming import unless_disconnected
from toolsmith.core.inference.sampling import Constraint, SamplingParams

VERSION = "0.9.0"  # the Ollama API version these routes follow


class _Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Options(_Body, kw_only=True):
    num_predict: int | None = None  # -1: until the context is full (capped by [server] max_tokens)
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    top_k: Annotated[int, msgspec.Meta(ge=0)] | None = None
    min_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    seed: int | None = None
    stop: list[str] | None = None
    repeat_penalty: Annotated[float, msgspec.Meta(gt=0)] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    num_ctx: Annotated[int, msgspec.Meta(ge=1)] | None = None  # at most the served context


class Function(_Body, kw_only=True):
    name: str
    arguments: dict


class ToolCall(_Body, kw_only=True):
    function: Function


class Message(_Body, kw_only=True):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: list[str] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None


Format = Literal["", "json"] | dict | None


class _Generation(_Body, kw_only=True):
    model: str
    format: Format = None
    options: Options | None = None
    stream: bool = True
    keep_alive: float | str | None = None
    think: bool | str | None = None


class ChatBody(_Generation, kw_only=True):
    messages: list[Message] = []
    tools: list[oa.Tool] | None = None


class GenerateBody(_Generation, kw_only=True):
    prompt: str = ""
    suffix: str | None = None
    system: str | None = None
    raw: bool = False
    images: list[str] | None = None
    template: str | None = None
    context: list[int] | None = None


class ShowBody(_Body, kw_only=True):
    model: str | None = None
    name: str | None = None  # older clients
    verbose: bool = False


class OllamaError(msgspec.Struct):
    error: str


RESPONSES = {
    status: ResponseSpec(data_container=OllamaError, description=what)
    for status, what in {
        400: "Bad input, or a field this server cannot honour (named in the message)",
        401: "Missing or wrong API key",
        403: "Host header is not a loopback name",
        404: "No such model",
        413: "Request body too large",
        503: "The model is loading, failed to load, or is not configured",
    }.items()
}


class Refused(HTTPException):
    def __init__(self, message: str, status: int = 400):
        super().__init__(detail=message, status_code=status)


def _error(request: Request, exc: Exception) -> Response:
    """Ollama's error shape, with the message Toolsmith's own handlers would give."""
    base = handle_http_exception(request, exc) if isinstance(exc, HTTPException) else handle_toolsmith_error(request, exc)
    return Response({"error": base.content.error.message}, status_code=base.status_code)


# -- listing


def _details(state: State) -> dict:
    return {"format": "safetensors", "family": "", "families": None, "parameter_size": "", "quantization_level": ""}


def _entry(state: State) -> dict:
    name = state.slot.name
    return {
        "name": name,
        "model": name,
        "modified_at": datetime.fromtimestamp(state.started, timezone.utc).isoformat(),
        "size": 0,
        "digest": "",
        "details": _details(state),
    }


@get("/tags", responses=RESPONSES, summary="Ollama: the served model, once it is ready")
async def tags(state: State) -> dict:
    return {"models": [_entry(state)] if state.slot.engine is not None else []}


@get("/version", responses=RESPONSES, summary="Ollama: the API version these routes follow")
async def version() -> dict:
    return {"version": VERSION}


@post("/show", status_code=200, responses=RESPONSES, summary="Ollama: the model's template, details and capabilities")
async def show(data: JSONBody[ShowBody], state: State) -> dict:
    engine = _engine(state, data.model or data.name or "")
    tokenizer = engine.tokenizer
    capabilities = ["completion", "tools"]
    if fim.fim_of(tokenizer) is not None:
        capabilities.append("insert")
    context = state.slot.context_length()
    return {
        "modelfile": "",
        "parameters": "",
        "template": getattr(tokenizer, "chat_template", None) or "",
        "details": _details(state),
        "model_info": {"general.context_length": context} if context else {},
        "capabilities": capabilities,
        "modified_at": _entry(state)["modified_at"],
    }


def _engine(state: State, model: str):
    slot = state.slot
    if model not in (slot.name, f"{slot.name}:latest") or not slot.configured:
        raise Refused(f"model '{model}' not found (this server serves '{slot.name}'; GET /api/tags lists it)", 404)
    return slot.ready()


# -- generation


def _refuse_unsupported(data: _Generation, images: list[str] | None) -> None:
    if data.think:
        raise Refused("think is not supported: this server's models have no thinking mode")
    if images:
        raise Refused("images are not supported; this model reads text only")
    if data.keep_alive in (0, "0", "0s", "0m"):
        raise Refused("keep_alive 0 would unload the model; this server keeps its one model loaded while it runs")


def _params(data: _Generation, state: State, prompt_len: int, stop_ids: list[int] = ()) -> SamplingParams:
    o = data.options or Options()
    cap = state.settings.max_tokens
    context = state.slot.context_length()
    if o.num_ctx is not None and context and o.num_ctx > context:
        raise Refused(f"options.num_ctx is {o.num_ctx} but the model's context is {context} tokens")
    room = max(1, min(cap, (context - prompt_len) if context else cap))
    if o.num_predict is None or o.num_predict < 0:
        max_tokens = room
    elif o.num_predict > cap:
        raise Refused(f"options.num_predict is {o.num_predict} but this server allows at most {cap} (raise [server] max_tokens)")
    else:
        max_tokens = max(1, o.num_predict)
    return SamplingParams(
        temperature=0.8 if o.temperature is None else o.temperature,  # Ollama's defaults
        top_p=0.9 if o.top_p is None else o.top_p,
        top_k=40 if o.top_k is None else o.top_k,
        min_p=o.min_p or 0.0,
        seed=o.seed,
        stop=list(o.stop or []),
        repetition_penalty=1.1 if o.repeat_penalty is None else o.repeat_penalty,
        presence_penalty=o.presence_penalty or 0.0,
        frequency_penalty=o.frequency_penalty or 0.0,
        max_tokens=max_tokens,
        stop_token_ids=list(stop_ids),
        constraint=_constraint(data.format),
    )


def _constraint(format: Format) -> Constraint | None:
    if format == "json":
        return Constraint(json_object=True, source="format")
    if isinstance(format, dict):
        return Constraint(json_schema=format, source="format")
    return None


def _openai_messages(messages: list[Message]) -> list[oa.ChatMessage]:
    out = []
    for i, m in enumerate(messages):
        if m.images:
            raise Refused("images are not supported; this model reads text only")
        calls = [
            oa.ToolCall(id=f"call_{i}_{j}", function=oa.FunctionCall(name=c.function.name, arguments=json.dumps(c.function.arguments)))
            for j, c in enumerate(m.tool_calls or [])
        ]
        out.append(oa.ChatMessage(role=m.role, content=m.content, tool_calls=calls or None, name=m.tool_name))
    return out


@post("/chat", status_code=200, responses=RESPONSES, summary="Ollama: answer a conversation (NDJSON stream unless stream is false)")
async def chat(data: JSONBody[ChatBody], request: Request, state: State) -> Response:
    _refuse_unsupported(data, None)
    engine = _engine(state, data.model)
    raw = _openai_messages(data.messages)
    if not raw:
        raise Refused("messages is empty; send at least one message")
    tools = tool_calls.tool_dicts(data.tools or [])
    prompt, setup = render_chat(engine.tokenizer, raw, tools, add_generation_prompt=True)
    params = _params(data, state, len(prompt))
    if tools and setup.marker_is_special:
        params = msgspec.structs.replace(params, skip_special_tokens=False)
    drop = tuple(engine.tokenizer.decode([t], skip_special_tokens=False) for t in sorted(engine.tokenizer.eos_token_ids)) if tools else ()
    parser = tool_calls.ToolCallParser(setup.family, drop) if tools else None
    return await _answer(request, engine.generate(prompt, params), data, _ChatShape(parser))


@post("/generate", status_code=200, responses=RESPONSES, summary="Ollama: complete a prompt (or fill in the middle with suffix)")
async def generate(data: JSONBody[GenerateBody], request: Request, state: State) -> Response:
    _refuse_unsupported(data, data.images)
    if data.template is not None:
        raise Refused("template is not supported: the model's own chat template is used (or send raw: true)")
    if data.context is not None:
        raise Refused("context is not supported (it is deprecated in Ollama too); send the conversation to /api/chat")
    engine = _engine(state, data.model)
    tokenizer = engine.tokenizer
    stop_ids: list[int] = []
    if data.suffix is not None:
        infill = fim.fim_of(tokenizer)
        if infill is None:
            raise Refused(f"suffix needs a fill-in-the-middle model; {state.slot.name}'s tokenizer has no FIM tokens")
        prompt = fim.fim_prompt(tokenizer, infill, data.prompt, data.suffix)
        stop_ids = infill.ends
    elif data.raw:
        prompt = tokenizer.encode(data.prompt)
    else:
        messages = ([{"role": "system", "content": data.system}] if data.system else []) + [{"role": "user", "content": data.prompt}]
        prompt = tokenizer.encode_chat(messages, add_generation_prompt=True)
    return await _answer(request, engine.generate(prompt, _params(data, state, len(prompt), stop_ids)), data, _GenerateShape())


class _ChatShape:
    def __init__(self, parser):
        self.parser = parser

    def piece(self, text: str, final: bool) -> dict:
        message = {"role": "assistant", "content": text}
        if self.parser is None:
            return {"message": message}
        parts = [self.parser.feed(text)] + ([self.parser.finish()] if final else [])
        message["content"] = "".join(p.content for p in parts)
        self.deltas = getattr(self, "deltas", []) + [d for p in parts for d in p.calls]
        if final and self.deltas:  # Ollama sends each call whole, arguments as an object
            calls: dict[int, dict] = {}
            for d in self.deltas:
                call = calls.setdefault(d.index, {"function": {"name": d.function.name, "arguments": ""}})
                call["function"]["arguments"] += d.function.arguments or ""
            message["tool_calls"] = [_object_arguments(c) for c in calls.values()]
        return {"message": message}


def _object_arguments(call: dict) -> dict:
    text = call["function"]["arguments"]
    try:
        arguments = json.loads(text) if text else {}
    except json.JSONDecodeError:
        arguments = {"_raw": text}  # a call cut off by num_predict: its text, not lost
    return {"function": {"name": call["function"]["name"], "arguments": arguments}}


class _GenerateShape:
    def piece(self, text: str, final: bool) -> dict:
        return {"response": text}


async def _answer(request: Request, stream, data: _Generation, shape) -> Response:
    """The whole answer as one object, or NDJSON lines; the first output is awaited so bad input is a 400."""
    started = time.monotonic_ns()
    model = data.model
    if not data.stream:
        text, last = "", None
        async for output in stream:
            text += output.outputs[0].delta_text
            last = output
        return Response({**_head(model), **shape.piece(text, True), **_done(last, started)})
    first = await unless_disconnected(request, anext(stream))

    async def lines():
        output = first
        try:
            while True:
                finished = output.finished
                piece = shape.piece(output.outputs[0].delta_text, finished)
                if finished:
                    yield msgspec.json.encode({**_head(model), **piece, **_done(output, started)}) + b"\n"
                    return
                if _says_something(piece):
                    yield msgspec.json.encode({**_head(model), **piece, "done": False}) + b"\n"
                output = await anext(stream)
        except ToolsmithError as e:
            yield msgspec.json.encode({"error": str(e)}) + b"\n"
        finally:
            await stream.aclose()

    return Stream(lines(), media_type="application/x-ndjson")


def _says_something(piece: dict) -> bool:
    message = piece.get("message")
    return bool(message["content"] or message.get("tool_calls")) if message is not None else bool(piece["response"])


def _head(model: str) -> dict:
    return {"model": model, "created_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")}


def _done(output, started: int) -> dict:
    completion = output.outputs[0]
    metrics = output.metrics
    first = metrics.first_token_time or metrics.arrival_time
    end = metrics.finished_time or time.monotonic()
    return {
        "done": True,
        "done_reason": "length" if completion.finish_reason == "length" else "stop",
        "total_duration": time.monotonic_ns() - started,
        "load_duration": 0,
        "prompt_eval_count": len(output.prompt_token_ids),
        "prompt_eval_duration": int((first - metrics.arrival_time) * 1e9),
        "eval_count": len(completion.token_ids),
        "eval_duration": int((end - first) * 1e9),
    }


router = Router(
    path="/api",
    route_handlers=[tags, version, show, chat, generate],
    tags=["Ollama-compatible"],
    exception_handlers={HTTPException: _error, ToolsmithError: _error},
)

"""``/v1/models``, ``/v1/completions``, ``/v1/chat/completions`` (and vLLM's ``/tokenize``, ``/detokenize``).

Every request becomes one engine request; its cumulative outputs are turned into
OpenAI's response (or chunks, when streaming). A client that disconnects,
streaming or not, cancels the engine stream, which aborts the request.
"""

import time
import uuid
from collections.abc import AsyncIterator

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from ...base.errors import ToolsmithError
from ...inference.outputs import CompletionOutput, RequestOutput
from ...inference.outputs import TokenLogprob as EngineLogprob
from ...inference.sampling import Constraint, SamplingParams
from . import fim, tool_calls
from . import openai_types as oa
from .errors import RESPONSES, ApiError, error_body
from .openapi import event_stream_operation
from .streaming import DONE, event_stream, frame, unless_disconnected


def answer_route(path: str, summary: str, response: type):
    """A POST that answers 200 with ``response``, or streams it as server-sent events."""
    return post(path, status_code=200, responses=RESPONSES, summary=summary, operation_class=event_stream_operation(response))


class OpenAIController(Controller):
    path = "/v1"
    tags = ["OpenAI-compatible"]

    @get("/models", responses=RESPONSES, summary="The served model, once it is ready")
    async def models(self, state: State) -> oa.ModelList:
        slot = state.slot
        if slot.engine is None:  # loading, failed, or none: nothing is ready to answer
            return oa.ModelList(data=[])
        return oa.ModelList(data=[model_entry(state)])

    @get("/models/{model_id:path}", responses=RESPONSES, summary="One model by id")
    async def model(self, model_id: FromPath[str], state: State) -> oa.Model:
        ready_engine(state.slot, model_id.lstrip("/"))
        return model_entry(state)

    @answer_route("/completions", "Complete a prompt (text or token ids)", oa.Completion)
    async def completions(self, data: JSONBody[oa.CompletionRequest], request: Request, state: State) -> oa.Completion:
        engine = ready_engine(state.slot, data.model)
        if data.echo:
            raise ApiError(400, "echo is not supported; prepend the prompt yourself", "echo")
        prompt = completion_prompt(data.prompt)
        max_tokens = capped(data.max_tokens or 16, state.settings.max_tokens, "max_tokens")
        params = sampling_params(data, max_tokens, data.logprobs)
        if data.suffix is not None:
            if not isinstance(prompt, str):
                raise ApiError(400, "suffix needs a text prompt (the code before the cursor)", "prompt")
            infill = fim.require_fim(engine.tokenizer, state.slot.name, "suffix")
            prompt = fim.fim_prompt(engine.tokenizer, infill, prompt, data.suffix)
            params = msgspec.structs.replace(params, stop_token_ids=[*params.stop_token_ids, *infill.ends])
        view = CompletionView(state.slot.name, engine.tokenizer, data)
        return await respond(request, engine.generate(prompt, params, view.id), view, data)

    @answer_route("/chat/completions", "Answer a conversation (the model's chat template)", oa.ChatCompletion)
    async def chat_completions(self, data: JSONBody[oa.ChatRequest], request: Request, state: State) -> oa.ChatCompletion:
        slot = state.slot
        engine = ready_engine(slot, data.model)
        tools = tool_calls.chosen_tools(data)
        prompt, setup = render_chat(engine.tokenizer, data.messages, tools, add_generation_prompt=True)
        requested = data.max_completion_tokens or data.max_tokens
        name = "max_completion_tokens" if data.max_completion_tokens else "max_tokens"
        cap = state.settings.max_tokens
        max_tokens = capped(requested, cap, name) if requested is not None else room_for(slot, len(prompt), cap)
        logprobs = (data.top_logprobs or 0) if data.logprobs else None
        params = sampling_params(data, max_tokens, logprobs)
        grammar = tool_calls.call_grammar(setup, tools, data, engine.tokenizer)
        if grammar is not None:
            if params.constraint is not None:
                raise ApiError(400, "response_format cannot be combined with a required tool call (tool_choice)", "response_format")
            params = msgspec.structs.replace(params, constraint=Constraint(lark=grammar, source="tool_choice"))
        if tools and setup.marker_is_special:  # the call marker is a special token: keep it in the text
            params = msgspec.structs.replace(params, skip_special_tokens=False)
        view = ChatView(slot.name, engine.tokenizer, data, setup if tools else None)
        return await respond(request, engine.generate(prompt, params, view.id), view, data)


class InfillController(Controller):
    tags = ["Code completion"]

    @answer_route("/infill", "llama.cpp's fill-in-the-middle: the code between a prefix and a suffix", oa.InfillResponse)
    async def infill(self, data: JSONBody[oa.InfillRequest], request: Request, state: State) -> oa.InfillResponse:
        slot = state.slot
        engine = ready_engine(slot, data.model)
        infill = fim.require_fim(engine.tokenizer, slot.name, "input_prefix")
        if data.input_extra and infill.file_sep is None:
            raise ApiError(400, f"input_extra needs a model with a file separator token; {slot.name}'s FIM format has none", "input_extra")
        files = [(f.filename, f.text) for f in data.input_extra]
        prompt = fim.fim_prompt(engine.tokenizer, infill, data.input_prefix + data.prompt, data.input_suffix, files)
        cap = state.settings.max_tokens
        max_tokens = room_for(slot, len(prompt), cap) if data.n_predict == -1 else capped(max(1, data.n_predict), cap, "n_predict")
        params = SamplingParams(
            temperature=data.temperature,
            top_k=data.top_k,
            top_p=data.top_p,
            min_p=data.min_p,
            seed=data.seed,
            max_tokens=max_tokens,
            stop=list(data.stop),
            stop_token_ids=infill.ends,
        )
        stream = engine.generate(prompt, params)
        if not data.stream:
            output = await unless_disconnected(request, _last(stream))
            return _infill_response(output, slot.name)
        first = await unless_disconnected(request, anext(stream))
        return event_stream(_infill_frames(stream, first, slot.name))


def _infill_response(output: RequestOutput, model: str) -> oa.InfillResponse:
    c = output.outputs[0]
    return oa.InfillResponse(
        content=c.text, stop=True, tokens_predicted=len(c.token_ids), tokens_evaluated=len(output.prompt_token_ids), model=model
    )


async def _infill_frames(stream: AsyncIterator[RequestOutput], output: RequestOutput, model: str):
    """llama.cpp's stream: ``{"content", "stop": false}`` per piece, then the whole answer with ``stop: true``; no [DONE]."""
    try:
        while not output.finished:
            if output.outputs[0].delta_text:
                yield frame({"content": output.outputs[0].delta_text, "stop": False})
            output = await anext(stream)
        if output.outputs[0].delta_text:
            yield frame({"content": output.outputs[0].delta_text, "stop": False})
        yield frame(msgspec.structs.replace(_infill_response(output, model), content=""))
    except ToolsmithError as e:
        yield frame(error_body(503, str(e)))
    finally:
        await stream.aclose()


class TokenizerController(Controller):
    tags = ["Tokenizer"]

    @post("/tokenize", status_code=200, responses=RESPONSES, summary="Token ids of a prompt or a rendered conversation")
    async def tokenize(self, data: JSONBody[oa.TokenizeRequest], state: State) -> oa.TokenizeResponse:
        slot = state.slot
        tokenizer = ready_engine(slot, data.model).tokenizer
        if (data.prompt is None) == (data.messages is None):
            raise ApiError(400, "give exactly one of prompt and messages", "prompt")
        if data.messages is not None:
            tools = tool_calls.tool_dicts(data.tools or [])
            tokens, _ = render_chat(tokenizer, data.messages, tools, add_generation_prompt=data.add_generation_prompt)
        else:
            tokens = tokenizer.encode(data.prompt, add_special_tokens=data.add_special_tokens)
        return oa.TokenizeResponse(tokens=tokens, count=len(tokens), max_model_len=slot.context_length())

    @post("/detokenize", status_code=200, responses=RESPONSES, summary="Text of token ids")
    async def detokenize(self, data: JSONBody[oa.DetokenizeRequest], state: State) -> oa.DetokenizeResponse:
        tokenizer = ready_engine(state.slot, data.model).tokenizer
        vocab = getattr(tokenizer, "vocab_size", None)
        bad = [t for t in data.tokens if vocab is not None and t >= vocab]
        if bad:
            raise ApiError(400, f"token id {bad[0]} is out of range: the tokenizer has ids 0..{vocab - 1}", "tokens")
        return oa.DetokenizeResponse(prompt=tokenizer.decode(data.tokens, skip_special_tokens=False))


# -- turning requests into engine calls


def ready_engine(slot, model: str | None):
    """The served engine, once the request's `model` (if any) is checked to name it."""
    check_model(slot, model)
    return slot.ready()


def render_chat(tokenizer, messages: list[oa.ChatMessage], tools: list[dict], *, add_generation_prompt: bool):
    """The conversation's prompt ids through the chat template, with the tools as the template takes them."""
    setup = tool_calls.setup_for(tokenizer)
    plain = tool_calls.template_messages(chat_messages(messages), messages, tools, setup)
    extra = {"tools": tools} if tools and setup.renders_tools else {}
    return tokenizer.encode_chat(plain, add_generation_prompt=add_generation_prompt, **extra), setup


def room_for(slot, prompt_tokens: int, cap: int) -> int:
    """What a request that names no length may generate: what fits in the context, up to the cap."""
    context = slot.context_length()
    return max(1, min(cap, context - prompt_tokens)) if context else cap


def model_entry(state: State) -> oa.Model:
    slot = state.slot
    return oa.Model(id=slot.name, created=int(state.started), max_model_len=slot.context_length())


def check_model(slot, name: str | None) -> None:
    """A request may leave `model` out; naming another model than the served one is a 404."""
    if name is not None and (not slot.configured or name != slot.name):
        served = f"this server serves {slot.name!r}" if slot.configured else "this server serves no model"
        raise ApiError(404, f"the model {name!r} does not exist: {served} (GET /v1/models lists it)", "model", "model_not_found")


def completion_prompt(prompt: str | list) -> str | list[int]:
    if isinstance(prompt, str):
        return prompt
    if prompt and all(isinstance(t, int) for t in prompt):
        return prompt
    if len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    raise ApiError(400, "prompt must be a text, a list of token ids, or a list holding one text (send one prompt per request)", "prompt")


def chat_messages(messages: list[oa.ChatMessage]) -> list[dict]:
    """Plain ``{"role", "content"}`` dicts for the chat template; text parts are joined."""
    out = []
    for m in messages:
        if isinstance(m.content, list):
            unsupported = [p.type for p in m.content if p.type != "text"]
            if unsupported:
                raise ApiError(400, f"message content of type {unsupported[0]!r} is not supported; this model reads text only", "messages")
            content = "".join(p.text or "" for p in m.content)
        else:
            content = m.content or ""
        out.append({"role": m.role, "content": content})
    return out


def capped(requested: int, cap: int, name: str) -> int:
    if requested > cap:
        raise ApiError(400, f"{name} is {requested} but this server allows at most {cap} (raise [server] max_tokens in the config)", name)
    return requested


def sampling_params(data: oa._Sampling, max_tokens: int, logprobs: int | None) -> SamplingParams:
    stop = [data.stop] if isinstance(data.stop, str) else list(data.stop or [])
    return SamplingParams(
        n=data.n,
        temperature=data.temperature,
        top_p=data.top_p,
        top_k=data.top_k,
        min_p=data.min_p,
        repetition_penalty=data.repetition_penalty,
        presence_penalty=data.presence_penalty,
        frequency_penalty=data.frequency_penalty,
        seed=data.seed,
        max_tokens=max_tokens,
        min_tokens=data.min_tokens,
        stop=stop,
        stop_token_ids=list(data.stop_token_ids),
        ignore_eos=data.ignore_eos,
        logprobs=logprobs,
        skip_special_tokens=data.skip_special_tokens,
        logit_bias=dict(data.logit_bias or {}),
        constraint=response_constraint(data.response_format),
    )


def response_constraint(response_format: oa.ResponseFormat | None) -> Constraint | None:
    """The grammar a ``response_format`` asks for: any JSON object, or JSON matching a schema."""
    if isinstance(response_format, oa.JsonObjectFormat):
        return Constraint(json_object=True, source="response_format")
    if isinstance(response_format, oa.JsonSchemaFormat):
        return Constraint(json_schema=response_format.json_schema.schema or {"type": "object"}, source="response_format")
    return None


async def respond(request: Request, stream: AsyncIterator[RequestOutput], view, data: oa._Sampling):
    """The whole answer, or an event stream that starts once the first output is ready.

    Waiting for the first output means a bad request still gets a 400 status,
    not a 200 stream carrying an error.
    """
    if not data.stream:
        return view.response(await unless_disconnected(request, _last(stream)))
    first = await unless_disconnected(request, anext(stream))
    usage = bool(data.stream_options and data.stream_options.include_usage)
    return event_stream(_frames(stream, first, view, usage))


async def _last(stream: AsyncIterator[RequestOutput]) -> RequestOutput:
    async for output in stream:
        last = output
    return last


async def _frames(stream: AsyncIterator[RequestOutput], output: RequestOutput, view, usage: bool):
    try:
        while True:
            for chunk in view.chunks(output):
                yield frame(chunk)
            if output.finished:
                break
            output = await anext(stream)
        if usage:
            yield frame(view.usage_chunk(output))
    except ToolsmithError as e:  # mid-stream failure: the status is already sent, so say it in the stream
        yield frame(error_body(503, str(e)))
    finally:
        await stream.aclose()
    yield DONE


def usage_of(output: RequestOutput) -> oa.Usage:
    prompt = len(output.prompt_token_ids)
    completion = sum(len(c.token_ids) for c in output.outputs)
    return oa.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


class _View:
    """What one request has sent so far, so each chunk carries only what is new."""

    prefix = ""

    def __init__(self, model: str, tokenizer, data: oa._Sampling):
        self.id = f"{self.prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.tokenizer = tokenizer
        self.return_token_ids = data.return_token_ids
        self.sent_tokens: dict[int, int] = {}
        self.finished: set[int] = set()
        self.offsets: dict[int, int] = {}

    def token_text(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id], skip_special_tokens=False)

    def new_parts(self, output: RequestOutput):
        """(completion, new token ids, new logprobs) for each completion with something new."""
        for c in output.outputs:
            start = self.sent_tokens.get(c.index, 0)
            new_ids = c.token_ids[start:]
            finishing = c.finish_reason is not None and c.index not in self.finished
            # a token that ends mid-character adds no text: say nothing unless ids or logprobs are wanted
            wanted = new_ids and (self.return_token_ids or c.logprobs is not None)
            if not c.delta_text and not finishing and not wanted:
                continue
            self.sent_tokens[c.index] = len(c.token_ids)
            if c.finish_reason is not None:
                self.finished.add(c.index)
            yield c, new_ids, (c.logprobs[start:] if c.logprobs is not None else None)

    def prompt_ids(self, output: RequestOutput) -> list[int] | None:
        return output.prompt_token_ids if self.return_token_ids else None

    def ids(self, ids: list[int]) -> list[int] | None:
        return list(ids) if self.return_token_ids else None


class CompletionView(_View):
    prefix = "cmpl"

    def response(self, output: RequestOutput) -> oa.Completion:
        choices = [self._choice(c, c.text, c.token_ids, c.logprobs) for c in output.outputs]
        return oa.Completion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=usage_of(output),
            prompt_token_ids=self.prompt_ids(output),
        )

    def chunks(self, output: RequestOutput):
        for c, new_ids, new_logprobs in self.new_parts(output):
            choice = self._choice(c, c.delta_text, new_ids, new_logprobs)
            yield oa.Completion(
                id=self.id, created=self.created, model=self.model, choices=[choice], prompt_token_ids=self.prompt_ids(output)
            )

    def usage_chunk(self, output: RequestOutput) -> oa.Completion:
        return oa.Completion(id=self.id, created=self.created, model=self.model, choices=[], usage=usage_of(output))

    def _choice(self, c: CompletionOutput, text: str, ids: list[int], logprobs: list[EngineLogprob] | None) -> oa.CompletionChoice:
        return oa.CompletionChoice(
            index=c.index,
            text=text,
            finish_reason=c.finish_reason,
            logprobs=self._logprobs(c.index, logprobs) if logprobs is not None else None,
            token_ids=self.ids(ids),
        )

    def _logprobs(self, index: int, logprobs: list[EngineLogprob]) -> oa.CompletionLogprobs:
        tokens, offsets = [], []
        offset = self.offsets.get(index, 0)
        for lp in logprobs:
            token = self.token_text(lp.token_id)
            tokens.append(token)
            offsets.append(offset)
            offset += len(token)
        self.offsets[index] = offset
        return oa.CompletionLogprobs(
            tokens=tokens,
            token_logprobs=[lp.logprob for lp in logprobs],
            top_logprobs=[{self.token_text(t): v for t, v in lp.top} for lp in logprobs],
            text_offset=offsets,
        )


class ChatView(_View):
    prefix = "chatcmpl"

    def __init__(self, model: str, tokenizer, data: oa.ChatRequest, tools: tool_calls.ToolSetup | None = None):
        super().__init__(model, tokenizer, data)
        self.tools = tools
        drop = tuple(tokenizer.decode([t], skip_special_tokens=False) for t in sorted(tokenizer.eos_token_ids)) if tools else ()
        self.drop = drop
        self.parsers: dict[int, tool_calls.ToolCallParser] = {}

    def _parser(self, index: int) -> tool_calls.ToolCallParser:
        if index not in self.parsers:
            self.parsers[index] = tool_calls.ToolCallParser(self.tools.family, self.drop)
        return self.parsers[index]

    def _reason(self, index: int, reason: str | None) -> str | None:
        """OpenAI's "tool_calls" when a completion that called tools stopped by itself."""
        called = self.tools is not None and self._parser(index).called
        return "tool_calls" if reason == "stop" and called else reason

    def response(self, output: RequestOutput) -> oa.ChatCompletion:
        choices = []
        for c in output.outputs:
            content, calls = c.text, None
            if self.tools is not None:
                content, calls = tool_calls.whole(self._parser(c.index), c.text)
            choices.append(
                oa.ChatChoice(
                    index=c.index,
                    message=oa.AssistantMessage(content=content, tool_calls=calls or None),
                    finish_reason=self._reason(c.index, c.finish_reason),
                    logprobs=self._logprobs(c.logprobs) if c.logprobs is not None else None,
                    token_ids=self.ids(c.token_ids),
                )
            )
        return oa.ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=usage_of(output),
            prompt_token_ids=self.prompt_ids(output),
        )

    def chunks(self, output: RequestOutput):
        for c in output.outputs:  # the role comes first, once per completion, as OpenAI sends it
            if c.index not in self.sent_tokens:
                self.sent_tokens[c.index] = 0
                yield self._chunk(oa.ChunkChoice(index=c.index, delta=oa.Delta(role="assistant", content=""), finish_reason=None), output)
        for c, new_ids, new_logprobs in self.new_parts(output):
            choice = oa.ChunkChoice(
                index=c.index,
                delta=self._delta(c),
                finish_reason=self._reason(c.index, c.finish_reason),
                logprobs=self._logprobs(new_logprobs) if new_logprobs is not None else None,
                token_ids=self.ids(new_ids),
            )
            yield self._chunk(choice, output)

    def _delta(self, c: CompletionOutput) -> oa.Delta:
        if self.tools is None:
            return oa.Delta(content=c.delta_text) if c.delta_text else oa.Delta()
        parser = self._parser(c.index)
        parts = [parser.feed(c.delta_text)]
        if c.finish_reason is not None:
            parts.append(parser.finish())
        content = "".join(p.content for p in parts)
        calls = [d for p in parts for d in p.calls]
        return oa.Delta(content=content or None, tool_calls=calls or None)

    def usage_chunk(self, output: RequestOutput) -> oa.ChatCompletionChunk:
        return oa.ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=[], usage=usage_of(output))

    def _chunk(self, choice: oa.ChunkChoice, output: RequestOutput) -> oa.ChatCompletionChunk:
        return oa.ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=[choice], prompt_token_ids=self.prompt_ids(output)
        )

    def _logprobs(self, logprobs: list[EngineLogprob]) -> oa.ChatLogprobs:
        content = []
        for lp in logprobs:
            token = self.token_text(lp.token_id)
            top = [self._top(t, v) for t, v in lp.top]
            content.append(oa.TokenLogprob(token=token, logprob=lp.logprob, bytes=list(token.encode()), top_logprobs=top))
        return oa.ChatLogprobs(content=content)

    def _top(self, token_id: int, logprob: float) -> oa.TopLogprob:
        token = self.token_text(token_id)
        return oa.TopLogprob(token=token, logprob=logprob, bytes=list(token.encode()))

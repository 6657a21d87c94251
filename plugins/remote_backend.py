"""Built-in remote engine backend: any OpenAI-compatible server (vLLM, llama.cpp, tabbyAPI, another `toolsmith serve`).

Configure it with ``[engine] backend = "remote"`` and ``url = "http://127.0.0.1:8000/v1"``;
the key, if the server wants one, comes from ``TOOLSMITH_REMOTE_API_KEY``.
`generate` streams ``/v1/completions`` (text or token ids); `generate_chat` streams
``/v1/chat/completions``, so the server renders the chat with its own template
(the forge chats through it). Tokens are counted by a local tokenizer when
``[engine] tokenizer`` names a model folder, else through whichever tokenize route the
server has (vLLM's and `toolsmith serve`'s, or llama.cpp's); Ollama's OpenAI layer has
none, and counting there without a local tokenizer is refused, saying so. Logprobs
come back from the server's own.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from toolsmith.core import hookimpl
from toolsmith.core.base.errors import ToolsmithError
from toolsmith.core.inference.backends import Backend
from toolsmith.core.inference.errors import EngineDeadError, RequestError
from toolsmith.core.inference.outputs import CompletionOutput, EngineMetrics, RequestMetrics, RequestOutput, TokenLogprob
from toolsmith.core.inference.sampling import SamplingParams
from toolsmith.core.inference.throughput import Throughput

if TYPE_CHECKING:
    import httpx  # imported when a request is made: loading plugins (every CLI start) stays light


def _timeout() -> httpx.Timeout:
    import httpx

    return httpx.Timeout(10.0, read=600.0)  # generous reads: a long answer on a slow machine

KEY_ENV = "TOOLSMITH_REMOTE_API_KEY"
RATE_WINDOW_S = 5.0
DEFAULTS = SamplingParams()


class RemoteError(ToolsmithError):
    """The server could not be reached or answered something that is not an OpenAI response."""


class RemoteEngine:
    """An `Engine` whose model runs behind an OpenAI-compatible URL."""

    constraints = frozenset({"json"})  # passed on as response_format; a Lark grammar is refused

    def __init__(self, url: str, model: str | None = None, api_key: str | None = None, tokenizer=None):
        if not url.startswith(("http://", "https://")):
            raise RemoteError(f"engine url {url!r} must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)")
        base = url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else base + "/v1"
        self.root_url = self.base_url[: -len("/v1")]
        self.model = model or None
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.tokenizer = RemoteTokenizer(self, tokenizer)
        self._running: set[str] = set()
        self._aborted: set[str] = set()
        self._throughput = Throughput(RATE_WINDOW_S)
        self._closed = False

    # -- the Engine protocol

    def generate(self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None) -> AsyncIterator[RequestOutput]:
        """Stream ``/v1/completions``; outputs are cumulative like the native engine's."""
        body = {"prompt": prompt, **_sampling_body(params)}
        if params.logprobs is not None:
            body["logprobs"] = params.logprobs
        prompt_ids = list(prompt) if isinstance(prompt, list) else []
        return self._stream("/completions", body, params, request_id, prompt_ids, lambda choice: choice.get("text") or "")

    def generate_chat(self, messages: list[dict], params: SamplingParams, request_id: str | None = None) -> AsyncIterator[RequestOutput]:
        """Stream ``/v1/chat/completions``: the server applies its model's chat template."""
        body = {"messages": messages, **_sampling_body(params)}
        if params.logprobs is not None:
            body.update(logprobs=True, top_logprobs=params.logprobs)
        return self._stream(
            "/chat/completions", body, params, request_id, [], lambda choice: (choice.get("delta") or {}).get("content") or ""
        )

    def abort(self, request_id: str) -> None:
        """Stop reading the request's stream; closing the connection aborts it on the server."""
        if request_id in self._running:
            self._aborted.add(request_id)

    def metrics(self) -> EngineMetrics:
        return EngineMetrics.without_kv_cache(self._throughput, num_waiting=0, num_running=len(self._running))

    def shutdown(self) -> None:
        self._closed = True

    # -- streaming

    async def _stream(self, route, body, params: SamplingParams, request_id, prompt_ids, text_of):
        import httpx

        if self._closed:
            raise EngineDeadError("the remote engine was shut down")
        params.validate()
        request_id = request_id or f"remote-{uuid.uuid4().hex}"
        if request_id in self._running:
            raise RequestError(f"request id {request_id!r} is already in use")
        self._running.add(request_id)
        prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else None
        state = _Progress(request_id, prompt, prompt_ids, params.n, self.tokenizer if params.logprobs is not None else None)
        try:
            async with httpx.AsyncClient(timeout=_timeout(), headers=self.headers) as client:
                body["model"] = await self._model(client)
                async with client.stream("POST", self.base_url + route, json=body) as response:
                    await _raise_for_error(response, self.base_url + route)
                    async for chunk in _events(response):
                        if request_id in self._aborted:
                            return
                        if state.add(chunk, text_of):
                            self._count(state.new_tokens())
                            output = state.output()
                            yield output
                            if output.finished:
                                return
            raise RemoteError(f"{self.base_url + route} ended the stream before the answer was finished")
        except httpx.HTTPError as e:
            raise RemoteError(f"cannot talk to the model server at {self.base_url} ({type(e).__name__}: {e}); is it running?") from None
        finally:
            self._running.discard(request_id)
            self._aborted.discard(request_id)

    async def _model(self, client: httpx.AsyncClient) -> str:
        """The configured model name, else the first one the server lists."""
        if self.model is None:
            response = await client.get(self.base_url + "/models")
            await _raise_for_error(response, self.base_url + "/models")
            models = response.json().get("data") or []
            if not models:
                raise RemoteError(f"{self.base_url}/models lists no model")
            self.model = models[0]["id"]
        return self.model

    def _count(self, tokens: int) -> None:
        self._throughput.add(tokens)

    # -- plain JSON calls, for the tokenizer

    def post(self, path: str, body: dict) -> dict:
        found = self.try_post(path, body)
        if found is None:
            raise RemoteError(f"{self.root_url + path} does not exist on this server")
        return found

    def try_post(self, path: str, body: dict) -> dict | None:
        """The JSON answer, or None when the server has no such route or refuses that shape."""
        import httpx

        url = self.root_url + path
        try:
            response = httpx.post(url, json=body, headers=self.headers, timeout=_timeout())
        except httpx.HTTPError as e:
            raise RemoteError(f"cannot talk to the model server at {url} ({type(e).__name__}: {e}); is it running?") from None
        if response.status_code in (400, 404, 405, 422, 501):
            return None
        _check(response.status_code, response.content, url)
        try:
            return response.json()
        except ValueError:
            raise RemoteError(f"{url} answered something that is not JSON") from None


class RemoteTokenizer:
    """Token ids through a local tokenizer, or the server's tokenize route in the shape it has.

    vLLM and `toolsmith serve`: ``/tokenize`` ``{"prompt"}`` or ``{"messages", "tools"}`` and
    ``/detokenize`` → ``{"prompt"}``. llama.cpp's server: ``/tokenize`` ``{"content",
    "add_special"}``, ``/detokenize`` → ``{"content"}``, chats rendered by ``/apply-template``.
    The shape is found once, by asking for the tokens of "a" in each.
    """

    def __init__(self, engine: RemoteEngine, local=None):
        self._engine = engine
        self._local = local  # a toolsmith.core.engine.Tokenizer, or None
        self._shape: str | None = None
        self._ids: dict[str, int | None] = {}

    @property
    def eos_token_ids(self) -> frozenset[int]:
        return frozenset(self._local.eos_token_ids) if self._local is not None else frozenset()  # the server stops at EOS

    def shape(self) -> str:
        """"local", "vllm", "llama.cpp" or "none"."""
        if self._local is not None:
            return "local"
        if self._shape is None:
            if (self._engine.try_post("/tokenize", {"prompt": "a"}) or {}).get("tokens"):
                self._shape = "vllm"
            elif (self._engine.try_post("/tokenize", {"content": "a"}) or {}).get("tokens"):
                self._shape = "llama.cpp"
            else:
                self._shape = "none"
        return self._shape

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        shape = self.shape()
        if shape == "local":
            return self._local.encode(text, add_special_tokens=add_special_tokens)
        if shape == "vllm":
            return self._engine.post("/tokenize", {"prompt": text, "add_special_tokens": add_special_tokens})["tokens"]
        if shape == "llama.cpp":
            tokens = self._engine.post("/tokenize", {"content": text, "add_special": add_special_tokens})["tokens"]
            return [t["id"] if isinstance(t, dict) else t for t in tokens]
        raise self._no_route()

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        shape = self.shape()
        if shape == "local":
            return self._local.decode(list(ids), skip_special_tokens=skip_special_tokens)
        if shape in ("vllm", "llama.cpp"):
            answer = self._engine.post("/detokenize", {"tokens": list(ids)})
            return answer["prompt"] if shape == "vllm" else answer["content"]
        raise self._no_route()

    def encode_chat(self, messages: list[dict], add_generation_prompt: bool = True, **extra) -> list[int]:
        """The conversation's ids through the chat template (the local one, or the server's), tools included."""
        tools = {"tools": extra["tools"]} if extra.get("tools") else {}
        shape = self.shape()
        if shape == "local":
            return self._local.encode_chat(messages, add_generation_prompt=add_generation_prompt, **extra)
        if shape == "vllm":
            body = {"messages": messages, "add_generation_prompt": add_generation_prompt, **tools}
            return self._engine.post("/tokenize", body)["tokens"]
        if shape == "llama.cpp":
            if not add_generation_prompt:
                raise RequestError("llama.cpp's /apply-template always adds the generation prompt; add_generation_prompt=false cannot be honoured")
            prompt = self._engine.post("/apply-template", {"messages": messages, **tools})["prompt"]
            return self.encode(prompt, add_special_tokens=True)  # as llama.cpp tokenizes its own chat prompts
        raise self._no_route()

    def token_id(self, text: str) -> int | None:
        """The id of the one token whose text is `text` (cached), or None when it is several."""
        if text not in self._ids:
            ids = self.encode(text, add_special_tokens=False)
            self._ids[text] = ids[0] if len(ids) == 1 else None
        return self._ids[text]

    def _no_route(self) -> RemoteError:
        return RemoteError(
            f"{self._engine.root_url} has no tokenize route (Ollama's OpenAI layer has none), so tokens cannot be counted; "
            "set [engine] tokenizer to a local folder holding the model's tokenizer.json"
        )


class _Progress:
    """A remote request's completions so far, rebuilt into cumulative RequestOutputs."""

    def __init__(self, request_id: str, prompt: str | None, prompt_ids: list[int], n: int, tokenizer=None):
        self.request_id = request_id
        self.tokenizer = tokenizer  # set when logprobs were asked for: it names tokens that come without ids
        self.logprobs: list[list[TokenLogprob]] | None = [[] for _ in range(n)] if tokenizer is not None else None
        self.prompt = prompt
        self.prompt_ids = prompt_ids
        self.texts = [""] * n
        self.deltas = [""] * n
        self.ids: list[list[int]] = [[] for _ in range(n)]
        self.reasons: list[str | None] = [None] * n
        self.arrival = time.monotonic()
        self.first_token: float | None = None
        self.counted = 0

    def add(self, chunk: dict, text_of) -> bool:
        """Fold one chunk in; True when a completion changed."""
        if "error" in chunk:
            message = (chunk["error"] or {}).get("message", "unknown error")
            raise RemoteError(f"the model server failed mid-answer: {message}")
        if chunk.get("prompt_token_ids"):
            self.prompt_ids = chunk["prompt_token_ids"]
        changed = False
        for choice in chunk.get("choices") or []:
            i = choice.get("index", 0)
            if not 0 <= i < len(self.texts):
                raise RemoteError(f"the model server sent choice {i} of a request for {len(self.texts)}")
            delta = text_of(choice)
            self.texts[i] += delta
            self.deltas[i] += delta
            new_ids = choice.get("token_ids") or []
            if self.logprobs is not None and choice.get("logprobs"):
                new = _logprobs(choice["logprobs"], new_ids, self.tokenizer)
                self.logprobs[i] += new
                new_ids = new_ids or [lp.token_id for lp in new]  # llama.cpp names ids only in its logprobs
            self.ids[i] += new_ids
            self.reasons[i] = choice.get("finish_reason") or self.reasons[i]
            changed = True
        if changed and self.first_token is None:
            self.first_token = time.monotonic()
        return changed

    def new_tokens(self) -> int:
        """Tokens since the last call: ids when the server sends them, else one per chunk."""
        total = sum(len(ids) for ids in self.ids) or self.counted + 1
        new, self.counted = total - self.counted, total
        return new

    def output(self) -> RequestOutput:
        finished = all(reason is not None for reason in self.reasons)
        outputs = [
            CompletionOutput(
                index=i, token_ids=list(self.ids[i]), text=self.texts[i], delta_text=self.deltas[i], finish_reason=self.reasons[i],
                logprobs=list(self.logprobs[i]) if self.logprobs is not None else None,
            )
            for i in range(len(self.texts))
        ]
        self.deltas = [""] * len(self.texts)
        return RequestOutput(
            request_id=self.request_id,
            prompt=self.prompt,
            prompt_token_ids=list(self.prompt_ids),
            outputs=outputs,
            finished=finished,
            metrics=RequestMetrics(
                arrival_time=self.arrival,
                first_token_time=self.first_token,
                finished_time=time.monotonic() if finished else None,
                num_cached_tokens=0,
            ),
        )


def _logprobs(logprobs: dict, ids: list[int], tokenizer: RemoteTokenizer) -> list[TokenLogprob]:
    """A chunk's logprobs, in chat's shape (``content``: llama.cpp gives ids) or completions' (token texts).

    A token's id comes from the entry, else from the chunk's token ids, else from its
    text through the tokenizer; alternatives whose text is not one token are left out.
    """
    if logprobs.get("content") is not None:
        entries = [
            (e.get("id"), e["token"], e["logprob"], [(t.get("id"), t["token"], t["logprob"]) for t in e.get("top_logprobs") or []])
            for e in logprobs["content"]
        ]
    else:
        tops = logprobs.get("top_logprobs") or [{}] * len(logprobs.get("tokens") or [])
        entries = [
            (None, token, logprob, [(None, t, v) for t, v in (top or {}).items()])
            for token, logprob, top in zip(logprobs.get("tokens") or [], logprobs.get("token_logprobs") or [], tops, strict=False)
        ]
    out = []
    for n, (token_id, token, logprob, top) in enumerate(entries):
        if token_id is None:
            token_id = ids[n] if len(ids) == len(entries) else tokenizer.token_id(token)
        if token_id is None:
            raise RemoteError(f"the model server's logprobs name the token {token!r}, which is not one token here; set [engine] tokenizer")
        alternatives = [(i if i is not None else tokenizer.token_id(t), v) for i, t, v in top]
        out.append(TokenLogprob(token_id=token_id, logprob=logprob, top=[(i, v) for i, v in alternatives if i is not None]))
    return out


def _sampling_body(params: SamplingParams) -> dict:
    """OpenAI fields always; vLLM extras only when they differ from the default, for strict servers."""
    body = {
        "stream": True,
        "n": params.n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
        "return_token_ids": True,
    }
    if params.stop:
        body["stop"] = list(params.stop)
    if params.seed is not None:
        body["seed"] = params.seed
    for name in ("top_k", "min_p", "repetition_penalty", "min_tokens", "ignore_eos", "stop_token_ids", "skip_special_tokens"):
        if getattr(params, name) != getattr(DEFAULTS, name):
            body[name] = getattr(params, name)
    if params.logit_bias:
        body["logit_bias"] = {str(token): bias for token, bias in params.logit_bias.items()}
    constraint = params.constraint
    if constraint is not None:
        if constraint.lark is not None:
            raise RequestError("the remote backend cannot send a Lark grammar; only JSON constraints (response_format) pass through")
        body["response_format"] = (
            {"type": "json_object"}
            if constraint.json_object
            else {"type": "json_schema", "json_schema": {"name": "reply", "schema": constraint.json_schema, "strict": True}}
        )
    return body


async def _events(response: httpx.Response):
    """The JSON payloads of an SSE stream (CRLF or LF framed), until ``[DONE]``."""
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            yield msgspec.json.decode(data)
        except msgspec.DecodeError:
            raise RemoteError(f"{response.url} sent an event that is not JSON: {data[:80]!r}") from None


async def _raise_for_error(response: httpx.Response, url: str) -> None:
    if response.status_code >= 400:
        _check(response.status_code, await response.aread(), url)


def _check(status: int, content: bytes, url: str) -> None:
    if status < 400:
        return
    try:
        message = msgspec.json.decode(content)["error"]["message"]
    except (msgspec.DecodeError, KeyError, TypeError):
        message = content.decode("utf-8", "replace")[:200]
    if status in (400, 404, 413, 422):
        raise RequestError(f"the model server refused the request ({status}): {message}")
    raise RemoteError(f"the model server at {url} answered {status}: {message}")


def create(model: str = "", url: str = "", api_key: str | None = None, tokenizer: str = "", **options) -> RemoteEngine:
    """A RemoteEngine for `url`; `model` is the server's model name (a local folder path is ignored).

    `tokenizer`, a local model folder, counts tokens here instead of asking the server.
    """
    if not url:
        raise RemoteError("the remote backend needs a server address: set [engine] url (e.g. http://127.0.0.1:8000/v1)")
    local = None
    if tokenizer:
        from toolsmith.core.engine import Tokenizer

        local = Tokenizer.from_folder(Path(tokenizer).expanduser())
    name = None if not model or os.path.isdir(model) else model
    return RemoteEngine(url, model=name, api_key=api_key or os.environ.get(KEY_ENV), tokenizer=local)


@hookimpl
def toolsmith_register_engines(register):
    register(
        Backend(
            name="remote",
            description="any OpenAI-compatible server by URL ([engine] url): vLLM, llama.cpp, tabbyAPI, another toolsmith serve",
            create=create,
        )
    )

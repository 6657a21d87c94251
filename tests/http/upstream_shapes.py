"""Small loopback servers in the shapes of llama.cpp's server and Ollama's OpenAI layer.

Each fronts a real `toolsmith serve` (the tiny model) and changes only what those
upstreams do differently, so the remote backend meets their routes and payloads:

* llama.cpp: ``/tokenize`` takes ``{"content", "add_special"}`` (a body without
  ``content`` gets ``{"tokens": []}``), ``/detokenize`` answers ``{"content"}``, chats are
  rendered by ``/apply-template``; chunks carry no ``token_ids``, chat logprobs carry
  each chosen token's ``id``.
* Ollama: no tokenize route at all; chunks carry no token ids; logprobs name tokens by text.
"""

import json

import httpx
from litestar import Litestar, Request, get, post
from litestar.datastructures import State
from litestar.response import Response, Stream

from toolsmith.core.base.config import ServerConfig
from toolsmith.core.engine import Tokenizer

from live_server import AUTH


def _state() -> State:
    return State({"settings": ServerConfig()})  # what the test Server reads its limits from


def _proxy_routes(upstream: str, rewrite):
    """/v1/models, /v1/completions and /v1/chat/completions passed to `upstream`, each SSE chunk through `rewrite`."""

    @get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @get("/v1/models")
    async def models() -> Response:
        answer = httpx.get(upstream + "/v1/models", headers=AUTH)
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    async def forward(path: str, body: dict):
        client = httpx.AsyncClient(timeout=120)
        response = await client.send(client.build_request("POST", upstream + path, json=body, headers=AUTH), stream=True)
        if response.status_code != 200:
            content = await response.aread()
            await client.aclose()
            return Response(content, status_code=response.status_code, media_type="application/json")

        async def lines():
            try:
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        line = "data: " + rewrite(line[len("data: ") :])
                    if line:
                        yield (line + "\n\n").encode()
            finally:
                await response.aclose()
                await client.aclose()

        return Stream(lines(), media_type="text/event-stream")

    @post("/v1/completions", status_code=200)
    async def completions(request: Request) -> Response:
        return await forward("/v1/completions", await request.json())

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request) -> Response:
        return await forward("/v1/chat/completions", await request.json())

    return [health, models, completions, chat]


def _without_ids(text: str, ids_into_logprobs: bool) -> str:
    chunk = json.loads(text)
    chunk.pop("prompt_token_ids", None)
    for choice in chunk.get("choices") or []:
        ids = choice.pop("token_ids", None) or []
        content = (choice.get("logprobs") or {}).get("content")
        if ids_into_logprobs and content is not None:
            for entry, token_id in zip(content, ids, strict=True):
                entry["id"] = token_id
    return json.dumps(chunk)


def llama_cpp_app(upstream: str, model_dir) -> Litestar:
    tokenizer = Tokenizer.from_folder(model_dir)

    @post("/tokenize", status_code=200)
    async def tokenize(request: Request) -> dict:
        body = await request.json()
        if "content" not in body:
            return {"tokens": []}
        answer = httpx.post(upstream + "/tokenize", json={"prompt": body["content"], "add_special_tokens": body.get("add_special", False)}, headers=AUTH)
        return {"tokens": answer.json()["tokens"]}

    @post("/detokenize", status_code=200)
    async def detokenize(request: Request) -> dict:
        answer = httpx.post(upstream + "/detokenize", json={"tokens": (await request.json())["tokens"]}, headers=AUTH)
        return {"content": answer.json()["prompt"]}

    @post("/apply-template", status_code=200)
    async def apply_template(request: Request) -> dict:
        body = await request.json()
        extra = {"tools": body["tools"]} if body.get("tools") else {}
        return {"prompt": tokenizer.apply_chat_template(body["messages"], add_generation_prompt=True, **extra)}

    routes = _proxy_routes(upstream, lambda text: _without_ids(text, ids_into_logprobs=True))
    return Litestar([*routes, tokenize, detokenize, apply_template], state=_state())


def ollama_app(upstream: str) -> Litestar:
    return Litestar(_proxy_routes(upstream, lambda text: _without_ids(text, ids_into_logprobs=False)), state=_state())

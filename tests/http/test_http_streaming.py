"""SSE framing byte for byte, clients that leave mid-answer, and 64 streams at once."""

import asyncio
import json

import httpx
import openai
from live_server import AUTH, KEY, MODEL

from toolsmith.core.engine import Tokenizer


def test_sse_frames_are_lf_framed_and_end_with_done(server):
    body = {"prompt": "The quick brown fox", "max_tokens": 5, "stream": True, "ignore_eos": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", server.url + "/v1/completions", headers=AUTH, json=body) as response:
        raw = response.read()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert b"\r" not in raw
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    frames = raw.split(b"\n\n")
    assert frames[-1] == b"" and frames[-2] == b"data: [DONE]"
    payloads = [json.loads(f[len(b"data: ") :]) for f in frames[:-2]]
    assert all(f.startswith(b"data: {") for f in frames[:-2])
    assert payloads[-1]["choices"] == [] and payloads[-1]["usage"]["completion_tokens"] == 5
    assert {p["id"] for p in payloads} == {payloads[0]["id"]}


def test_a_client_leaving_mid_stream_aborts_its_request_and_frees_its_blocks(server):
    before = server.wait_idle()
    body = {"prompt": "Count the lines", "max_tokens": 400, "stream": True, "ignore_eos": True}
    with httpx.stream("POST", server.url + "/v1/completions", headers=AUTH, json=body) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: {")
        assert server.metrics()["toolsmith_kv_blocks_used"] > 0
    after = server.wait_idle()
    generated = after["toolsmith_generation_tokens_total"] - before["toolsmith_generation_tokens_total"]
    assert generated < 400  # aborted, not run to the end


def test_a_client_leaving_before_a_whole_answer_aborts_it(server):
    before = server.wait_idle()
    body = {"prompt": "Count the lines", "max_tokens": 400, "ignore_eos": True, "n": 4}
    try:
        httpx.post(server.url + "/v1/completions", headers=AUTH, json=body, timeout=httpx.Timeout(5, read=0.05))
    except httpx.ReadTimeout:
        pass
    after = server.wait_idle()
    assert after["toolsmith_generation_tokens_total"] - before["toolsmith_generation_tokens_total"] < 4 * 400


def test_64_concurrent_streams_all_finish_with_exact_usage(server, model_dir):
    tokenizer = Tokenizer.from_folder(model_dir)
    prompts = [f"Rename file number {i} by date" for i in range(64)]

    async def one(client, prompt):
        stream = await client.completions.create(
            model=MODEL, prompt=prompt, max_tokens=4, stream=True, stream_options={"include_usage": True}, extra_body={"ignore_eos": True}
        )
        chunks = [chunk async for chunk in stream]
        return chunks[-1].usage, [c.choices[0].finish_reason for c in chunks if c.choices][-1]

    async def main():
        async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=120) as client:
            return await asyncio.gather(*(one(client, p) for p in prompts))

    results = asyncio.run(main())
    for prompt, (usage, finish) in zip(prompts, results, strict=True):
        assert (usage.prompt_tokens, usage.completion_tokens) == (len(tokenizer.encode(prompt)), 4)
        assert finish == "length"
    server.wait_idle()


def test_metrics_are_prometheus_text_about_the_engine(server):
    before = server.metrics()["toolsmith_generation_tokens_total"]
    httpx.post(server.url + "/v1/completions", headers=AUTH, json={"prompt": "hi", "max_tokens": 3, "ignore_eos": True})
    response = httpx.get(server.url + "/metrics", headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = response.text.splitlines()
    for name in (
        "generation_tokens_per_second",
        "requests_waiting",
        "requests_running",
        "kv_blocks_total",
        "kv_blocks_used",
        "prefix_cache_hit_rate",
    ):
        assert f"# TYPE toolsmith_{name} gauge" in lines
    m = server.metrics()
    assert m["toolsmith_model_loaded"] == 1 and m["toolsmith_kv_blocks_total"] > 0
    assert m["toolsmith_generation_tokens_total"] == before + 3

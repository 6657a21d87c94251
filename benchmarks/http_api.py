"""Streaming through `toolsmith serve` vs the engine called directly, on the same workload.

A SmolLM2-135M-shaped random model (float32, CPU). 16 concurrent streams, each
client sending its requests one after another:
  * direct: `AsyncEngine.generate` in this process;
  * server: the same engine behind the HTTP app (uvicorn in a child process),
    streamed with httpx from this process as an editor would (`/v1/completions`,
    token-id prompts, SSE).
Reports generated tokens/s for both and their ratio (the goal is >= 0.9), and
time to first token p50/p99. The two alternate (2 rounds, 1 with --quick) and the
best round of each counts, so a burst of load on a shared machine skews less.

Torch gets one thread fewer than there are cores (both sides alike): the HTTP
layer and the client need a core, and a two-thread torch op stalls whenever one
of its threads loses its core, which would measure the machine, not the server.

    python benchmarks/http_api.py [--quick] [--json] [--threads N]
"""

import argparse
import asyncio
import importlib.util
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from toolsmith.core.engine import AsyncEngine, SamplingParams

HERE = Path(__file__).resolve().parent


def _engine_benchmark():
    """benchmarks/engine.py, for its SmolLM2-shaped random model builder."""
    spec = importlib.util.spec_from_file_location("engine_benchmark", HERE / "engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KEY = "benchmark-key"
CONCURRENCY = 16
ENGINE_OPTIONS = dict(dtype="float32", max_num_seqs=CONCURRENCY)


def workload(requests: int, prompt_len: int, vocab: int) -> list[list[int]]:
    rng = random.Random(0)
    return [[rng.randrange(vocab) for _ in range(prompt_len)] for _ in range(requests)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(tokens: int, seconds: float, ttfts: list[float]) -> dict:
    return {
        "tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
        "ttft_p50_s": round(statistics.median(ttfts), 4),
        "ttft_p99_s": round(percentile(ttfts, 0.99), 4),
    }


async def run_clients(prompts: list[list[int]], one) -> dict:
    """CONCURRENCY clients, each taking the next prompt when its last answer ends."""
    queue = list(reversed(prompts))
    ttfts, tokens = [], 0

    async def client():
        nonlocal tokens
        while queue:
            ttft, n = await one(queue.pop())
            ttfts.append(ttft)
            tokens += n

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return summary(tokens, time.perf_counter() - start, ttfts)


def direct(folder: Path, prompts: list[list[int]], max_tokens: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    engine = AsyncEngine(folder, **ENGINE_OPTIONS)
    params = SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True)

    async def one(prompt):
        start, first, final = time.perf_counter(), None, None
        async for final in engine.generate(prompt, params):
            if first is None and final.token_ids:
                first = time.perf_counter() - start
        return first, len(final.token_ids)

    try:
        asyncio.run(run_clients(prompts[:CONCURRENCY], one))  # warm-up
        return asyncio.run(run_clients(prompts, one))
    finally:
        engine.shutdown()


def served(folder: Path, prompts: list[list[int]], max_tokens: int, threads: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--threads", str(threads), "--serve", str(folder), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        # token ids in every chunk: a random model's tokens are often outside the test tokenizer and decode to no text
        body = {
            "max_tokens": max_tokens,
            "temperature": 0,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
            "return_token_ids": True,
        }

        async def main():
            limits = httpx.Limits(max_connections=CONCURRENCY)
            async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, limits=limits, timeout=600) as http:

                async def one(prompt):
                    start, first, usage = time.perf_counter(), None, None
                    async with http.stream("POST", "/v1/completions", json={**body, "prompt": prompt}) as response:
                        async for line in response.aiter_lines():
                            if not line.startswith("data: {"):
                                continue
                            chunk = json.loads(line[6:])
                            if first is None and chunk["choices"] and chunk["choices"][0]["token_ids"]:
                                first = time.perf_counter() - start
                            usage = chunk["usage"] or usage
                    return first, usage["completion_tokens"]

                await run_clients(prompts[:CONCURRENCY], one)  # warm-up
                return await run_clients(prompts, one)

        return asyncio.run(main())
    finally:
        server.terminate()
        server.wait(30)


def wait_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the benchmark server exited")
        try:
            if httpx.get(url + "/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the benchmark server did not load the model in 300 s")


def serve(folder: str, port: int, threads: int) -> None:
    """The child process: the HTTP app around the same engine configuration as `direct`."""
    import torch
    import uvicorn

    torch.set_num_threads(threads)
    from toolsmith.core.base.config import Config, ServerConfig
    from toolsmith.core.frontends.http import create_app

    app = create_app(
        api_key=KEY,
        open_engine=lambda: AsyncEngine(folder, **ENGINE_OPTIONS),
        model_name="smollm2-shape",
        config=Config(server=ServerConfig()),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter requests, one round (about a minute)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="torch threads (default: cores - 1)")
    parser.add_argument("--serve", nargs=2, metavar=("FOLDER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve[0], int(args.serve[1]), args.threads)
    requests, prompt_len, max_tokens = (32, 64, 32) if args.quick else (64, 128, 64)
    rounds = 1 if args.quick else 2
    models = _engine_benchmark()
    prompts = workload(requests, prompt_len, models.PROMPT_VOCAB)
    load_at_start = os.getloadavg()[0]  # other processes on the machine skew every figure
    measured = {"direct": [], "server": []}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TOOLSMITH_HOME"] = tmp  # the server's key file and config stay out of the real home
        folder = Path(tmp) / "model"
        models.build_model(folder)
        for _ in range(rounds):
            measured["direct"].append(direct(folder, prompts, max_tokens, args.threads))
            measured["server"].append(served(folder, prompts, max_tokens, args.threads))
    best = {side: max(runs, key=lambda r: r["tokens_per_s"]) for side, runs in measured.items()}
    result = {
        "workload": {
            "concurrency": CONCURRENCY,
            "requests": requests,
            "prompt_tokens": prompt_len,
            "max_tokens": max_tokens,
            "dtype": "float32",
        },
        "torch_threads": args.threads,
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg()[0],
        **best,
        "server_vs_direct": round(best["server"]["tokens_per_s"] / best["direct"]["tokens_per_s"], 3),
        "rounds": measured,
    }
    if args.json:
        print(json.dumps(result))
        return
    w = result["workload"]
    print(
        f"{w['concurrency']} streams, {w['requests']} requests, prompts {w['prompt_tokens']} tokens, {w['max_tokens']} generated each ({w['dtype']}, {args.threads} torch threads)"
    )
    for name in ("direct", "server"):
        r = result[name]
        rates = ", ".join(f"{x['tokens_per_s']:.1f}" for x in measured[name])
        print(
            f"  {name:<7} {r['tokens_per_s']:8.1f} tokens/s   TTFT p50 {r['ttft_p50_s'] * 1000:7.1f} ms   p99 {r['ttft_p99_s'] * 1000:7.1f} ms   (rounds: {rates})"
        )
    print(
        f"  server / direct: {result['server_vs_direct']:.3f} (goal >= 0.9); load average {load_at_start:.1f} -> {result['load_average_at_end']:.1f}"
    )


if __name__ == "__main__":
    main()

"""The online engine: concurrent streams, cancellation that frees blocks, the plugin backend."""

import asyncio
import subprocess
import sys

import pytest

from toolsmith.core.engine import LLM, AsyncEngine, Engine, EngineDeadError, RequestError, SamplingParams
from toolsmith.core.inference.backends import backends

from fixtures import DEVICE
from tiny_models import prompt_ids

GREEDY = SamplingParams(temperature=0, max_tokens=10, ignore_eos=True)


async def collect(engine, prompt, params, request_id=None):
    return [out async for out in engine.generate(prompt, params, request_id)]


def test_concurrent_streams_match_offline_generation(tiny_model):
    folder, _ = tiny_model("llama-tied")
    prompts = [prompt_ids(4 + 5 * i, seed=100 + i) for i in range(4)]
    engine = AsyncEngine(folder, dtype="float32", device=DEVICE, block_size=4)
    try:

        async def main():
            return await asyncio.gather(*(collect(engine, p, GREEDY) for p in prompts))

        streams = asyncio.run(main())
    finally:
        engine.shutdown()
    expected = LLM(folder, dtype="float32", device=DEVICE).generate(prompts, GREEDY)
    for stream, want in zip(streams, expected):
        assert stream[-1].finished and stream[-1].token_ids == want.token_ids
        assert all(not out.finished for out in stream[:-1])
        assert "".join(out.outputs[0].delta_text for out in stream) == want.text
        lengths = [len(out.token_ids) for out in stream]
        assert lengths == sorted(lengths) and lengths[-1] == 10


def test_leaving_a_stream_aborts_the_request_and_frees_its_blocks(tiny_model):
    folder, _ = tiny_model("llama-tied")
    engine = AsyncEngine(folder, dtype="float32", device=DEVICE, block_size=4)
    endless = SamplingParams(temperature=0, max_tokens=400, ignore_eos=True)
    try:

        async def main():
            got = 0
            async for out in engine.generate(prompt_ids(20), endless, "leaver"):
                got = len(out.token_ids)
                if got >= 3:
                    break
            task = asyncio.create_task(collect(engine, prompt_ids(30), endless, "cancelled"))
            while engine.metrics().num_running < 1:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(500):
                m = engine.metrics()
                if m.num_running == 0 and m.num_waiting == 0 and m.kv_blocks_used == 0:
                    return got, m
                await asyncio.sleep(0.01)
            raise AssertionError(f"blocks still in use: {engine.metrics()}")

        got, metrics = asyncio.run(main())
    finally:
        engine.shutdown()
    assert got >= 3
    assert metrics.kv_blocks_free == metrics.kv_blocks_total
    assert engine.engine.groups == {}


def test_bad_input_raises_in_the_caller_and_shutdown_ends_streams(tiny_model):
    folder, _ = tiny_model("llama-tied")
    engine = AsyncEngine(folder, dtype="float32", device=DEVICE)

    async def main():
        with pytest.raises(RequestError, match="prompt is empty"):
            await collect(engine, [], GREEDY)
        return await collect(engine, "hello", GREEDY)

    outputs = asyncio.run(main())
    assert outputs[-1].finished
    engine.shutdown()
    with pytest.raises(EngineDeadError, match="shut down"):
        asyncio.run(collect(engine, "hello", GREEDY))


def test_native_backend_is_registered_and_creates_an_engine(tiny_model):
    folder, _ = tiny_model("llama-tied")
    backend = backends()["native"]
    assert backend.unavailable() is None
    engine = backend.create(model=str(folder), device="auto", dtype="float32")
    try:
        assert isinstance(engine, Engine)
        assert asyncio.run(collect(engine, "hi", GREEDY))[-1].finished
    finally:
        engine.shutdown()


def test_loading_the_plugin_does_not_import_torch():
    code = "import sys; import toolsmith.plugins.native_backend; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

"""The exllamav2 backend plugin: how it reports itself on a machine without CUDA, and its
thread-to-asyncio bridge, driven by a generator that speaks exllamav2's job contract over
our native engine (the real exllamav2 runs in benchmarks/gpu/check_exl2.sh)."""

import asyncio
import json
import subprocess
import sys

import pytest
import torch

from toolsmith.core.base.config import Config, EngineConfig
from toolsmith.core.engine import LLM, EngineDeadError, LLMEngine, RequestError, SamplingParams
from toolsmith.core.inference.backends import backends
from toolsmith.core.inference.errors import ModelLoadError
from toolsmith.core.inference.protocol import Engine
from toolsmith.core.tools.model_registry import ModelError, open_engine
from toolsmith.plugins.exllamav2_backend import ExLlamaV2Engine

from fixtures import DEVICE
from tiny_models import prompt_ids

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown on machines without CUDA")
EOS_REASONS = {"length": "max_new_tokens", "stop": "stop_token"}


class NativeJobGenerator:
    """ExLlamaV2DynamicGenerator's contract (enqueue, cancel, iterate -> result dicts) over LLMEngine."""

    def __init__(self, engine: LLMEngine, fail_after: int | None = None):
        self.engine = engine
        self.jobs: dict[str, dict] = {}
        self.cancelled: list[tuple] = []
        self.fail_after = fail_after

    def enqueue(self, job: dict) -> None:
        job["rid"] = self.engine.add_request(job["ids"], job["params"])
        self.jobs[job["rid"]] = job

    def cancel(self, job: dict) -> None:
        self.cancelled.append(job["identifier"])
        self.engine.abort_request(job["rid"])

    def iterate(self) -> list[dict]:
        if self.fail_after is not None:
            self.fail_after -= 1
            if self.fail_after < 0:
                raise RuntimeError("CUDA out of memory")
        results = []
        for out in self.engine.step():
            job = self.jobs[out.request_id]
            if job["identifier"] in self.cancelled:
                continue
            ids = out.token_ids
            result = {"job": job, "stage": "streaming", "identifier": job["identifier"], "eos": out.finished}
            if len(ids) > job["sent"]:
                result["token_ids"] = torch.tensor([ids[job["sent"] :]])
                job["sent"] = len(ids)
            if out.finished:
                result["eos_reason"] = EOS_REASONS[out.finish_reason]
            results.append(result)
        return results


def new_job(ids, params: SamplingParams, stop_ids, identifier, seed) -> dict:
    """Like exllamav2's job: stop tokens are the generator's business, stop strings the bridge's."""
    native = SamplingParams(temperature=0, max_tokens=params.max_tokens, stop_token_ids=stop_ids, ignore_eos=True)
    return {"ids": ids, "params": native, "identifier": identifier, "sent": 0}


@pytest.fixture
def bridge(tiny_model):
    folder, _ = tiny_model("llama-tied")
    engines = []

    def make(**generator_options):
        native = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=4)
        engine = ExLlamaV2Engine(NativeJobGenerator(native, **generator_options), new_job, native.tokenizer, 256)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown()


async def collect(engine, prompt, params, request_id=None):
    return [out async for out in engine.generate(prompt, params, request_id)]


def test_streams_carry_the_generators_tokens_and_text(bridge, tiny_model):
    engine = bridge()
    assert isinstance(engine, Engine) and engine.max_model_len == 256
    prompts = [prompt_ids(5 + 4 * i, seed=20 + i) for i in range(3)]
    params = SamplingParams(temperature=0, max_tokens=9, ignore_eos=True, n=2)

    async def main():
        return await asyncio.gather(*(collect(engine, p, params) for p in prompts))

    streams = asyncio.run(main())
    expected = LLM(tiny_model("llama-tied")[0], dtype="float32", device=DEVICE).generate(prompts, SamplingParams(temperature=0, max_tokens=9, ignore_eos=True))
    for stream, want in zip(streams, expected):
        final = stream[-1]
        assert final.finished and all(not out.finished for out in stream[:-1])
        for completion in final.outputs:
            assert completion.token_ids == want.token_ids and completion.finish_reason == "length"
            assert "".join(out.outputs[completion.index].delta_text for out in stream) == want.text
    assert engine.metrics().total_generated_tokens == 3 * 2 * 9 and engine.metrics().num_running == 0


def test_stop_string_ends_the_job(bridge, tiny_model):
    engine = bridge()
    ids = prompt_ids(7, seed=31)
    [free] = LLM(tiny_model("llama-tied")[0], dtype="float32", device=DEVICE).generate([ids], SamplingParams(temperature=0, max_tokens=12, ignore_eos=True))
    stop = free.text[len(free.text) // 2 :][:2]
    assert stop.strip(), "the fixture must produce visible text"
    outputs = asyncio.run(collect(engine, ids, SamplingParams(temperature=0, max_tokens=12, ignore_eos=True, stop=[stop])))
    assert outputs[-1].finish_reason == "stop" and outputs[-1].text == free.text[: free.text.index(stop)]
    assert engine.generator.cancelled  # the generator was told to stop the job


def test_leaving_a_stream_cancels_its_job(bridge):
    engine = bridge()

    async def main():
        stream = engine.generate(prompt_ids(6), SamplingParams(temperature=0, max_tokens=200, ignore_eos=True), "r1")
        first = await stream.__anext__()
        await stream.aclose()
        for _ in range(100):
            if engine.metrics().num_running == 0:
                break
            await asyncio.sleep(0.02)
        return first

    first = asyncio.run(main())
    assert not first.finished
    assert engine.generator.cancelled == [("r1", 0)] and engine.metrics().num_running == 0


def test_bad_requests_fail_before_anything_runs(bridge):
    engine = bridge()
    with pytest.raises(RequestError, match="does not return logprobs"):
        asyncio.run(collect(engine, "hi", SamplingParams(logprobs=2)))
    with pytest.raises(RequestError, match="exceeds the cache of 256 tokens"):
        asyncio.run(collect(engine, prompt_ids(250), SamplingParams(max_tokens=10)))
    assert engine.generator.jobs == {}


def test_a_generator_failure_fails_every_stream(bridge):
    engine = bridge(fail_after=2)
    with pytest.raises(EngineDeadError, match="RuntimeError: CUDA out of memory"):
        asyncio.run(collect(engine, prompt_ids(5), SamplingParams(temperature=0, max_tokens=50, ignore_eos=True)))
    with pytest.raises(EngineDeadError, match="not running"):
        asyncio.run(collect(engine, "again", SamplingParams()))


# -- the plugin on a machine without CUDA -------------------------------------------------


def test_plugin_loads_without_torch_or_exllamav2():
    code = "import sys; import toolsmith.plugins.exllamav2_backend; print('torch' in sys.modules, 'exllamav2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_toolsmith_plugins_lists_it(run_cli):
    done = run_cli("plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row["hooks"] for row in json.loads(done.stdout)}
    assert rows["exllamav2_backend"] == ["toolsmith_register_engines"]


@NO_CUDA
def test_without_cuda_the_backend_says_why(tiny_model):
    backend = backends()["exllamav2"]
    assert backend.unavailable() == "no CUDA device (torch.cuda.is_available() is False)"
    with pytest.raises(ModelLoadError, match=r"cannot run here: no CUDA device \(torch\.cuda\.is_available\(\) is False\)"):
        backend.create(model=str(tiny_model("llama-tied")[0]))
    assert "exllamav2" not in sys.modules


@NO_CUDA
def test_configuring_the_backend_without_cuda_gives_the_reason(tiny_model):
    config = Config(engine=EngineConfig(backend="exllamav2", model=str(tiny_model("llama-tied")[0])))
    with pytest.raises(ModelError, match=r"^engine backend 'exllamav2' cannot run here: no CUDA device"):
        open_engine(config)

"""Bad requests and bad model folders fail with an error that names the problem; serving goes on."""

import json
import math
import shutil

import pytest
import torch

from toolsmith.core.base.errors import ToolsmithError
from toolsmith.core.engine import LLM, LLMEngine, ModelLoadError, RequestError, SamplingError, SamplingParams

import tiny_models
from fixtures import DEVICE
from tiny_models import prompt_ids


@pytest.fixture
def engine(tiny_model):
    folder, _ = tiny_model("llama-tied")
    return LLMEngine(folder, dtype="float32", device=DEVICE, block_size=4, kv_cache_tokens=256)


@pytest.mark.parametrize(
    "prompt,params,error,message",
    [
        ([5, 512], SamplingParams(), RequestError, "token id 512 is out of range"),
        ([5, -1], SamplingParams(), RequestError, "token id -1"),
        ([], SamplingParams(), RequestError, "prompt is empty"),
        ("", SamplingParams(), RequestError, "prompt is empty"),
        ([1] * 500, SamplingParams(max_tokens=20), RequestError, "exceeds the model's context of 512"),
        ([1] * 200, SamplingParams(max_tokens=100), RequestError, "raise kv_cache_tokens"),
        ([1], SamplingParams(temperature=math.nan), SamplingError, "temperature"),
        ([1], SamplingParams(top_p=-0.5), SamplingError, "top_p"),
        ([1], SamplingParams(max_tokens=-3), SamplingError, "max_tokens"),
    ],
)
def test_bad_requests_are_rejected_and_the_engine_keeps_serving(tiny_model, engine, prompt, params, error, message):
    folder, _ = tiny_model("llama-tied")
    good = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
    ids = prompt_ids(9, seed=70)
    engine.add_request(ids, good, "good")
    engine.step()
    with pytest.raises(error, match=message):
        engine.add_request(prompt, params, "bad")
    assert issubclass(error, ToolsmithError)
    outputs = []
    while engine.has_unfinished():
        outputs += engine.step()
    assert [o.request_id for o in outputs if o.finished] == ["good"]
    assert outputs[-1].token_ids == LLM(folder, dtype="float32", device=DEVICE).generate([ids], good)[0].token_ids
    assert engine.kv.pool.num_free == engine.kv.pool.num_blocks


def test_a_request_id_in_use_is_rejected(engine):
    engine.add_request([1, 2], SamplingParams(), "same")
    with pytest.raises(RequestError, match="'same' is already in use"):
        engine.add_request([3], SamplingParams(), "same")


def test_abort_in_every_state_frees_everything(engine):
    params = SamplingParams(temperature=0, max_tokens=30, ignore_eos=True)
    engine.scheduler.max_num_batched_tokens = 8
    engine.add_request(prompt_ids(3, seed=1), params, "decoding")
    engine.add_request(prompt_ids(40, seed=2), params, "prefilling")
    engine.add_request(prompt_ids(5, seed=3), SamplingParams(n=3, max_tokens=30, seed=1), "siblings")
    for _ in range(3):
        engine.step()
    engine.add_request(prompt_ids(4, seed=4), params, "waiting")
    running = {r.request_id for r in engine.scheduler.running}
    assert {"decoding#0", "prefilling#0"} <= running
    for rid in ("decoding", "prefilling", "siblings", "waiting"):
        engine.abort_request(rid)
    outputs = engine.step()
    assert {o.request_id: o.finish_reason for o in outputs} == {
        "decoding": "abort",
        "prefilling": "abort",
        "siblings": "abort",
        "waiting": "abort",
    }
    assert not engine.has_unfinished() and not engine.scheduler.has_work()
    assert engine.kv.pool.num_free == engine.kv.pool.num_blocks
    engine.kv.pool.check_invariants()


def copy_model(tiny_model, tmp_path, variant="llama-tied"):
    folder, _ = tiny_model(variant)
    target = tmp_path / "model"
    shutil.copytree(folder, target)
    return target


def edit_config(folder, **changes):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_missing_folder_and_files_are_named(tiny_model, tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        LLMEngine(tmp_path / "nowhere")
    folder = copy_model(tiny_model, tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="no \\*.safetensors weights"):
        LLMEngine(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="no config.json"):
        LLMEngine(folder)


def test_missing_tokenizer_is_named(tiny_model, tmp_path):
    folder = copy_model(tiny_model, tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ToolsmithError, match="tokenizer.json"):
        LLMEngine(folder)


@pytest.mark.parametrize(
    "changes,message",
    [
        (
            {"architectures": ["GPT2LMHeadModel"]},
            "architecture 'GPT2LMHeadModel' is not supported \\(supported: LlamaForCausalLM, .*Gemma2ForCausalLM, .*SmolLM3ForCausalLM",
        ),
        ({"rope_parameters": {"rope_type": "su", "factor": 2.0}}, "rope type 'su' is not supported \\(supported: default, .*yarn"),
        ({"hidden_act": "relu"}, "activation 'relu' is not supported"),
        (
            {"rope_parameters": {"rope_type": "longrope", "short_factor": [1.0], "long_factor": [1.0]}},
            "rope short_factor has 1 values, the rotary dims need 8",
        ),
        ({"intermediate_size": 96}, "has shape \\(64, 128\\), config.json implies \\(64, 96\\)"),
        ({"num_hidden_layers": 3}, "missing model.layers.2"),
        ({"vocab_size": 300}, "tokenizer has 512 tokens but the model only 300"),
    ],
)
def test_config_that_does_not_fit_the_weights_is_named(tiny_model, tmp_path, changes, message):
    folder = copy_model(tiny_model, tmp_path)
    edit_config(folder, **changes)
    with pytest.raises(ModelLoadError, match=message):
        LLMEngine(folder)


def test_sharded_weights_load_through_the_index(tiny_model, tmp_path):
    folder, hf = tiny_model("qwen2-bias")
    sharded = tmp_path / "sharded"
    hf.save_pretrained(sharded, safe_serialization=True, max_shard_size="100KB")
    tiny_models.write_tokenizer(sharded, vocab_size=tiny_models.VOCAB)
    assert (sharded / "model.safetensors.index.json").is_file()
    ids = prompt_ids(10, seed=80)
    params = SamplingParams(temperature=0, max_tokens=5, ignore_eos=True)
    assert LLM(sharded, dtype="float32", device=DEVICE).generate([ids], params)[0].token_ids == LLM(folder, dtype="float32", device=DEVICE).generate([ids], params)[0].token_ids
    shard = json.loads((sharded / "model.safetensors.index.json").read_text())["weight_map"]["model.norm.weight"]
    (sharded / shard).unlink()
    with pytest.raises(ModelLoadError, match=f"shards listed in model.safetensors.index.json are missing: {shard}"):
        LLMEngine(sharded)


def test_bfloat16_engine_runs_and_stays_close_to_float32(tiny_model):
    folder, _ = tiny_model("llama-tied")
    ids = prompt_ids(12, seed=90)
    params = SamplingParams(temperature=0, max_tokens=1, logprobs=0)
    [low] = LLM(folder, dtype="bfloat16", device=DEVICE).generate([ids], params)
    [full] = LLM(folder, dtype="float32", device=DEVICE).generate([ids], params)
    assert low.logprobs[0].logprob == pytest.approx(full.logprobs[0].logprob, abs=0.1)
    assert torch.isfinite(torch.tensor(low.logprobs[0].logprob))

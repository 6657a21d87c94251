"""The engine computes the same logits and greedy tokens as Hugging Face transformers."""

import pytest
import tiny_models
import torch
from fixtures import DEVICE
from tiny_models import hf_logits, prompt_ids

from toolsmith.core.engine import LLM, LLMEngine, SamplingParams
from toolsmith.core.engine.request import Request

VARIANTS = list(tiny_models.VARIANTS)


def engine_logits(engine: LLMEngine, ids: list[int], chunk: int) -> torch.Tensor:
    """Logits at every prompt position, computing the prompt `chunk` tokens at a time through the paged cache."""
    req = Request("probe", ids, SamplingParams(), sampler=None, detokenizer=None)
    rows = []
    while req.num_computed_tokens < len(ids):
        n = min(chunk, len(ids) - req.num_computed_tokens)
        assert engine.kv.allocate_slots(req, n)
        flat = engine.runner.prepare([(req, n)], engine.kv)
        every_row = torch.arange(n, device=engine.device)
        rows.append(engine.model.forward(flat.input_ids, flat.positions, flat.attention, engine.runner.kv_caches, every_row))
        req.num_computed_tokens += n
    engine.kv.free(req)
    return torch.cat(rows)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v not in tiny_models.PROMPT_WIDE_ROPE])
def test_prefill_logits_match_transformers(tiny_model, variant):
    folder, hf = tiny_model(variant)
    engine = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=4)
    ids = prompt_ids(45)  # longer than the sliding window and the llama3 original context
    expected = hf_logits(hf, ids)
    torch.testing.assert_close(engine_logits(engine, ids, chunk=len(ids)), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("chunk", [1, 3, 7])
@pytest.mark.parametrize("variant", ["llama-tied", "mistral-sliding"])
def test_chunked_prefill_equals_one_shot(tiny_model, variant, chunk):
    folder, hf = tiny_model(variant)
    engine = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=3)
    ids = prompt_ids(30, seed=2)
    one_shot = engine_logits(engine, ids, chunk=len(ids))
    torch.testing.assert_close(engine_logits(engine, ids, chunk=chunk), one_shot, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(one_shot, hf_logits(hf, ids), atol=1e-4, rtol=1e-4)


def hf_greedy(model, ids: list[int], new_tokens: int) -> list[int]:
    with torch.no_grad():
        out = model.generate(
            torch.tensor([ids], device=model.device),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=model.device),
            do_sample=False,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=0,
        )
    return out[0, len(ids) :].tolist()


@pytest.mark.parametrize(
    "variant,block_size",
    [(v, 3) for v in VARIANTS] + [("llama-tied", 2), ("llama-tied", 16), ("mistral-sliding", 2), ("qwen2-bias", 16)],
)
def test_greedy_generation_matches_transformers_generate(tiny_model, variant, block_size):
    folder, hf = tiny_model(variant)
    llm = LLM(folder, dtype="float32", device=DEVICE, block_size=block_size)
    ids = prompt_ids(13, seed=3)
    params = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)
    [out] = llm.generate([ids], params)
    assert out.token_ids == hf_greedy(hf, ids, 24)
    assert out.finish_reason == "length"
    assert llm.metrics().kv_blocks_used == 0

"""Continuous batching gives every request exactly what it would get alone."""

import pytest
import torch
from fixtures import DEVICE
from tiny_models import hf_logits, prompt_ids

from toolsmith.core.engine import LLM, LLMEngine, SamplingParams
from toolsmith.core.engine.runner import decode_groups

GREEDY = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True, logprobs=0)


def run_to_end(engine: LLMEngine, arrivals: dict[int, list[tuple[str, list[int], SamplingParams]]]):
    """Step the engine, adding requests at the given step numbers; return final outputs by id."""
    finished, step = {}, 0
    while arrivals or engine.has_unfinished():
        for rid, ids, params in arrivals.pop(step, []):
            engine.add_request(ids, params, rid)
        for out in engine.step():
            if out.finished:
                finished[out.request_id] = out
        step += 1
        engine.kv.pool.check_invariants()
    assert engine.kv.pool.num_free == engine.kv.pool.num_blocks
    return finished


def solo(folder, ids, params, **options):
    return LLM(folder, dtype="float32", device=DEVICE, **options).generate([ids], params)[0]


def assert_same_output(got, want):
    assert got.token_ids == want.token_ids
    assert got.finish_reason == want.finish_reason
    torch.testing.assert_close(
        [lp.logprob for lp in got.logprobs], [lp.logprob for lp in want.logprobs], atol=1e-5, rtol=1e-5
    )


def test_staggered_mixed_batch_equals_solo_runs(tiny_model):
    folder, _ = tiny_model("mistral-sliding")
    seeded = SamplingParams(temperature=0.9, top_p=0.9, seed=7, max_tokens=10, ignore_eos=True, logprobs=0)
    requests = [
        ("a", prompt_ids(5, seed=10), GREEDY),
        ("b", prompt_ids(23, seed=11), seeded),
        ("c", prompt_ids(2, seed=12), GREEDY),
        ("d", prompt_ids(17, seed=13), seeded),
        ("e", prompt_ids(9, seed=14), GREEDY),
    ]
    engine = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=3, max_num_batched_tokens=8, max_num_seqs=4)
    arrivals = {0: requests[:2], 1: requests[2:3], 4: requests[3:4], 6: requests[4:]}
    batched = run_to_end(engine, arrivals)
    for rid, ids, params in requests:
        assert_same_output(batched[rid], solo(folder, ids, params, block_size=3))


def test_prefix_cache_hit_gives_identical_output(tiny_model):
    folder, _ = tiny_model("qwen2-bias")
    shared = prompt_ids(20, seed=20)
    first, second = shared + prompt_ids(3, seed=21), shared + prompt_ids(5, seed=22)
    llm = LLM(folder, dtype="float32", device=DEVICE, block_size=4)
    llm.generate([first], GREEDY)
    [hit] = llm.generate([second], GREEDY)
    assert hit.metrics.num_cached_tokens == 20  # the five full blocks of the shared prefix
    assert llm.metrics().prefix_cache_hit_rate > 0
    assert_same_output(hit, solo(folder, second, GREEDY, block_size=4, enable_prefix_caching=False))


def test_identical_prompt_recomputes_at_least_its_last_token(tiny_model):
    folder, _ = tiny_model("llama-tied")
    llm = LLM(folder, dtype="float32", device=DEVICE, block_size=4)
    ids = prompt_ids(16, seed=23)  # exactly four blocks
    [cold] = llm.generate([ids], GREEDY)
    [warm] = llm.generate([ids], GREEDY)
    assert warm.metrics.num_cached_tokens == 12  # the last block is recomputed to get its logits
    assert_same_output(warm, cold)


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_preemption_under_a_tiny_pool_gives_identical_outputs(tiny_model, temperature):
    folder, _ = tiny_model("llama-tied")
    params = SamplingParams(temperature=temperature, seed=3, max_tokens=20, ignore_eos=True, logprobs=0)
    requests = [(f"r{i}", prompt_ids(6 + 3 * i, seed=30 + i), params) for i in range(4)]
    tight = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=2, kv_cache_tokens=48, max_num_seqs=4)
    roomy = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=2, max_num_seqs=4)
    got, want = run_to_end(tight, {0: list(requests)}), run_to_end(roomy, {0: list(requests)})
    assert tight.metrics().num_preemptions > 0
    assert roomy.metrics().num_preemptions == 0
    for rid, _, _ in requests:
        assert_same_output(got[rid], want[rid])


def test_logprobs_are_those_of_the_model(tiny_model):
    folder, hf = tiny_model("llama3-rope-bias")
    ids = prompt_ids(11, seed=40)
    [out] = LLM(folder, dtype="float32", device=DEVICE).generate([ids], SamplingParams(temperature=0, max_tokens=6, logprobs=3))
    reference = torch.log_softmax(hf_logits(hf, ids + out.token_ids), dim=-1)
    for i, (token, lp) in enumerate(zip(out.token_ids, out.logprobs)):
        row = reference[len(ids) - 1 + i]
        assert lp.token_id == token == row.argmax().item()
        assert lp.logprob == pytest.approx(row[token].item(), abs=1e-4)
        assert [t for t, _ in lp.top] == row.topk(3).indices.tolist()


def test_n_completions_share_the_prompt_blocks(tiny_model):
    folder, _ = tiny_model("llama-tied")
    llm = LLM(folder, dtype="float32", device=DEVICE, block_size=4)
    ids = prompt_ids(21, seed=50)
    [out] = llm.generate([ids], SamplingParams(n=3, temperature=1.0, seed=5, max_tokens=8, ignore_eos=True))
    assert [c.index for c in out.outputs] == [0, 1, 2]
    assert all(len(c.token_ids) == 8 and c.finish_reason == "length" for c in out.outputs)
    assert len({tuple(c.token_ids) for c in out.outputs}) > 1  # differently seeded siblings
    engine = llm.engine
    assert engine.kv.hit_tokens == 2 * 20  # each sibling reused the five full prompt blocks
    [greedy] = llm.generate([ids], SamplingParams(n=2, temperature=0, max_tokens=8, ignore_eos=True))
    [single] = llm.generate([ids], SamplingParams(temperature=0, max_tokens=8, ignore_eos=True))
    assert greedy.outputs[0].token_ids == greedy.outputs[1].token_ids == single.token_ids


def test_stop_token_ids_and_stop_strings_end_generation(tiny_model):
    folder, _ = tiny_model("llama-tied")
    llm = LLM(folder, dtype="float32", device=DEVICE)
    prompt = "The quick brown fox"
    params = dict(temperature=0, max_tokens=30, ignore_eos=True)
    [full] = llm.generate([prompt], SamplingParams(**params))
    stop_id = full.token_ids[7]
    [by_id] = llm.generate([prompt], SamplingParams(**params, stop_token_ids=[stop_id]))
    assert by_id.token_ids == full.token_ids[: full.token_ids.index(stop_id) + 1]
    assert by_id.finish_reason == "stop"
    stop = full.text[len(full.text) // 2 : len(full.text) // 2 + 3]
    assert stop.strip(), f"pick a visible stop string from {full.text!r}"
    [by_text] = llm.generate([prompt], SamplingParams(**params, stop=[stop]))
    assert by_text.text == full.text[: full.text.index(stop)]
    assert by_text.finish_reason == "stop"


def test_eos_ends_generation_only_after_min_tokens(tiny_model):
    folder, _ = tiny_model("llama-tied")
    llm = LLM(folder, dtype="float32", device=DEVICE)
    ids = prompt_ids(8, seed=60)
    [free] = llm.generate([ids], SamplingParams(temperature=0, max_tokens=10, ignore_eos=True))
    eos = free.token_ids[3]  # pretend the model's 4th greedy token is its EOS
    llm.tokenizer.eos_token_ids = {eos}
    [stopped] = llm.generate([ids], SamplingParams(temperature=0, max_tokens=10))
    assert stopped.token_ids == free.token_ids[: free.token_ids.index(eos) + 1]
    assert stopped.finish_reason == "stop"
    [held] = llm.generate([ids], SamplingParams(temperature=0, max_tokens=10, min_tokens=10))
    assert len(held.token_ids) == 10 and held.finish_reason == "length"


def test_outputs_report_time_to_first_token(tiny_model):
    folder, _ = tiny_model("llama-tied")
    [out] = LLM(folder, dtype="float32", device=DEVICE).generate(["hello"], SamplingParams(max_tokens=3, seed=1))
    m = out.metrics
    assert 0 < m.time_to_first_token <= m.finished_time - m.arrival_time


@pytest.mark.parametrize(
    "widths",
    [[40, 39, 21, 20, 12, 10, 7, 1], [5, 5, 5], [1], [], [64, 1, 1, 1], [9, 8, 5, 4, 3, 2, 2, 1]],
)
def test_decode_rows_are_grouped_so_no_row_is_padded_past_twice_its_context(widths):
    groups = decode_groups(widths)
    assert [i for start, end in groups for i in range(start, end)] == list(range(len(widths)))
    for start, end in groups:
        assert all(2 * widths[i] > widths[start] for i in range(start, end))
    assert len(groups) <= (widths[0] // widths[-1]).bit_length() if widths else groups == []

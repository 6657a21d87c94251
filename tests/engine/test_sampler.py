"""The sampler: greedy and seeded draws, filters, penalties, min_tokens, logprobs, parameter checks."""

import math
import re

import pytest
import torch

from toolsmith.core.engine.sampler import SequenceSampler, penalized_logits, sample
from toolsmith.core.inference.sampling import SamplingError, SamplingParams

EOS = 7


def sampler(prompt=(), eos=(EOS,), **params) -> SequenceSampler:
    return SequenceSampler(SamplingParams(**params), list(prompt), set(eos))


def draw_many(logits_row: torch.Tensor, draws: int, **params) -> list[int]:
    """One token from each of ``draws`` differently seeded requests sharing the same logits."""
    samplers = [sampler(seed=seed, **params) for seed in range(draws)]
    return [r.token_id for r in sample(logits_row.expand(draws, -1), samplers)]


def logits_for_probs(probs: list[float]) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float64).log().to(torch.float32)


def assert_frequencies(tokens: list[int], expected: dict[int, float]) -> None:
    """Every token is in ``expected`` and each frequency is within 4.5 standard errors of its probability."""
    assert set(tokens) <= set(expected), f"filtered tokens sampled: {set(tokens) - set(expected)}"
    n = len(tokens)
    for token, p in expected.items():
        freq = tokens.count(token) / n
        assert abs(freq - p) <= 4.5 * math.sqrt(p * (1 - p) / n) + 1e-9, (token, freq, p)


def test_greedy_is_argmax_of_raw_logits_with_ties_to_the_lowest_id():
    logits = torch.randn(5, 300, generator=torch.Generator().manual_seed(1))
    logits[4, 17] = logits[4, 230] = logits[4].max() + 1.0
    results = sample(logits.to(torch.bfloat16), [sampler(temperature=0.0) for _ in range(5)])
    assert [r.token_id for r in results] == logits.to(torch.bfloat16).float().argmax(dim=-1).tolist()
    assert results[4].token_id == 17
    assert all(r.logprob is None and r.top_logprobs is None for r in results)


def request_logits(request: int, step: int, vocab: int = 97) -> torch.Tensor:
    """The logits a fake model gives request ``request`` at ``step``: fixed, whatever the batch."""
    return torch.randn(vocab, generator=torch.Generator().manual_seed(1000 * request + step)) * 2


SEEDED = [
    dict(seed=11),
    dict(seed=12, temperature=0.7, top_k=20),
    dict(seed=13, top_p=0.9, min_p=0.02),
    dict(seed=14, temperature=1.3, repetition_penalty=1.2, presence_penalty=0.4, frequency_penalty=0.3),
    dict(seed=11, temperature=0.0, frequency_penalty=1.0),
]


def generate(batch: list[int], steps: int = 24) -> dict[int, list[int]]:
    """Run the requests in ``batch`` together; indexes >= len(SEEDED) are unseeded filler requests."""
    params = [SEEDED[i] if i < len(SEEDED) else dict(top_k=5, repetition_penalty=1.1) for i in batch]
    samplers = [sampler(prompt=[i, i + 1, 3], **p) for i, p in zip(batch, params)]
    outputs = {i: [] for i in batch}
    for step in range(steps):
        logits = torch.stack([request_logits(i, step) for i in batch])
        for i, s, r in zip(batch, samplers, sample(logits, samplers)):
            s.append(r.token_id)
            outputs[i].append(r.token_id)
    return outputs


def test_seeded_requests_give_the_same_tokens_alone_and_in_any_batch():
    alone = {i: generate([i])[i] for i in range(len(SEEDED))}
    for batch in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 7, 0, 9, 4], [3, 5, 1, 6, 8, 4, 2, 0]):
        together = generate(batch)
        for i in batch:
            if i < len(SEEDED):
                assert together[i] == alone[i], (batch, i)
    # The same seed with different filters is a different request, not a copy.
    assert alone[0] != alone[1]


def test_unseeded_requests_draw_independently():
    flat = torch.zeros(2, 1000)
    first, second = sampler(), sampler()
    draws = [tuple(r.token_id for r in sample(flat, [first, second])) for _ in range(10)]
    assert [a for a, _ in draws] != [b for _, b in draws]


def test_plain_sampling_follows_the_softmax_of_logits_over_temperature():
    logits = torch.tensor([1.0, 0.0, -0.5, 2.0, 0.5])
    tokens = draw_many(logits, 3000, temperature=2.0)
    probs = torch.softmax(logits.double() / 2.0, dim=0).tolist()
    assert_frequencies(tokens, dict(enumerate(probs)))


def test_top_k_samples_only_the_k_most_likely_in_proportion():
    probs = [0.05, 0.3, 0.1, 0.25, 0.2, 0.1]
    tokens = draw_many(logits_for_probs(probs), 3000, top_k=3)
    kept = 0.3 + 0.25 + 0.2
    assert_frequencies(tokens, {1: 0.3 / kept, 3: 0.25 / kept, 4: 0.2 / kept})


def test_top_k_larger_than_the_vocabulary_filters_nothing():
    probs = [0.1, 0.2, 0.3, 0.4]
    tokens = draw_many(logits_for_probs(probs), 3000, top_k=1000)
    assert_frequencies(tokens, dict(enumerate(probs)))


def test_top_p_keeps_the_smallest_set_reaching_p():
    # Sorted: 0.4 (id 2), 0.3 (id 0), 0.15 (id 4) reach 0.85 >= 0.8; ids 1 and 3 go.
    probs = [0.3, 0.1, 0.4, 0.05, 0.15]
    tokens = draw_many(logits_for_probs(probs), 3000, top_p=0.8)
    assert_frequencies(tokens, {2: 0.4 / 0.85, 0: 0.3 / 0.85, 4: 0.15 / 0.85})


def test_min_p_drops_tokens_below_a_fraction_of_the_top_probability():
    # Threshold 0.2 * 0.5 = 0.1: 0.08 goes, 0.12 stays.
    probs = [0.08, 0.5, 0.12, 0.3]
    tokens = draw_many(logits_for_probs(probs), 3000, min_p=0.2)
    assert_frequencies(tokens, {1: 0.5 / 0.92, 2: 0.12 / 0.92, 3: 0.3 / 0.92})


def test_filters_apply_in_order_top_k_then_top_p_then_min_p():
    # top_k=4 drops id 3; renormalised: 0.489, 0.277, 0.149, 0.085 (id 4).  top_p=0.8 needs ids 0, 1, 2
    # (0.915).  min_p=0.25 (threshold 0.122) keeps those three.  Had min_p run first it would have dropped
    # id 4, and top_p on the renormalised rest would then have kept only ids 0 and 1.
    probs = [0.46, 0.26, 0.14, 0.06, 0.08]
    tokens = draw_many(logits_for_probs(probs), 3000, top_k=4, top_p=0.8, min_p=0.25)
    assert_frequencies(tokens, {0: 0.46 / 0.86, 1: 0.26 / 0.86, 2: 0.14 / 0.86})


def test_tokens_tied_with_the_last_kept_one_are_kept_too():
    tokens = draw_many(torch.tensor([3.0, 2.0, 2.0, -1.0]), 400, top_k=2)
    assert set(tokens) == {0, 1, 2}


def nucleus(logits: torch.Tensor, p: float) -> set[int]:
    """The smallest set of most likely tokens whose probability reaches p, computed in float64."""
    probs = torch.softmax(logits.double(), dim=0)
    order = probs.argsort(descending=True).tolist()
    kept, mass = set(), 0.0
    for token in order:
        kept.add(token)
        mass += probs[token].item()
        if mass >= p:
            return kept
    return kept


BIG_VOCAB = 5000  # more tokens than the sampler's top-k/top-p candidate window


def big_logits(slope: float) -> torch.Tensor:
    """Distinct logits in a shuffled order; a small slope spreads the mass over thousands of tokens."""
    order = torch.randperm(BIG_VOCAB, generator=torch.Generator().manual_seed(5))
    return -slope * order.to(torch.float32)


@pytest.mark.parametrize("slope, top_p", [(0.0005, 0.7), (0.05, 0.9)])
def test_top_p_on_a_large_vocabulary_keeps_exactly_the_nucleus(slope, top_p):
    logits = big_logits(slope)
    kept = nucleus(logits, top_p)
    tokens = draw_many(logits, 2000, top_p=top_p)
    assert set(tokens) <= kept
    ranks = logits.argsort(descending=True).argsort()
    # The flat case's nucleus runs past the candidate window, and draws come from its whole width.
    assert max(ranks[t].item() for t in tokens) > (1500 if slope < 0.001 else 0)


def test_top_k_wider_than_the_candidate_window():
    logits = big_logits(0.0005)
    top = set(logits.argsort(descending=True)[:2500].tolist())
    tokens = draw_many(logits, 2000, top_k=2500)
    assert set(tokens) <= top
    assert len(set(tokens)) > 1000


def test_large_vocabulary_rows_are_batch_invariant():
    flat, peaked = big_logits(0.0005), big_logits(0.05)
    requests = [
        (flat, dict(seed=1, top_p=0.8)),
        (flat, dict(seed=2, top_k=3000)),
        (peaked, dict(seed=3, top_p=0.9)),
        (peaked, dict(seed=4, top_k=40, top_p=0.5, min_p=0.01)),
        (flat, dict(seed=5)),
    ]

    def run(order):
        samplers = {i: sampler(**requests[i][1]) for i in order}
        logits = torch.stack([requests[i][0] for i in order])
        results = {i: [] for i in order}
        for _ in range(5):
            for i, r in zip(order, sample(logits, [samplers[i] for i in order])):
                results[i].append(r.token_id)
        return results

    alone = {i: run([i])[i] for i in range(len(requests))}
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [3, 1]):
        together = run(order)
        assert all(together[i] == alone[i] for i in order), order


def test_penalties_change_logits_exactly_as_the_formulas_say():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0, -2.0]])
    penalties = dict(repetition_penalty=2.0, presence_penalty=0.5, frequency_penalty=0.25)
    s, greedy = sampler(prompt=[0, 1], **penalties), sampler(prompt=[0, 1], temperature=0.0, **penalties)
    for token in (3, 3, 2):
        s.append(token)
        greedy.append(token)
    # token 0: prompt, positive -> 2/2.  token 1: prompt, negative -> -1*2.
    # token 2: output once -> 0.5/2 - 0.25*1 - 0.5.  token 3: output twice -> 3/2 - 0.25*2 - 0.5.
    # token 4: never seen -> unchanged.  Presence/frequency ignore the prompt (tokens 0 and 1).
    expected = torch.tensor([[1.0, -2.0, -0.5, 0.5, -2.0]])
    assert torch.equal(penalized_logits(logits, [s]), expected)
    assert sample(logits, [sampler(temperature=0.0)])[0].token_id == 3
    assert sample(logits, [greedy])[0].token_id == 0


def test_penalties_track_tokens_appended_after_the_first_step():
    logits = torch.tensor([[1.0, 0.9, 0.8]])
    s = sampler(temperature=0.0, frequency_penalty=0.15)
    picked = []
    for _ in range(6):
        token = sample(logits, [s])[0].token_id
        s.append(token)
        picked.append(token)
    # Each pick costs 0.15, so the three tokens take turns.
    assert picked == [0, 1, 0, 2, 1, 0]


def test_min_tokens_bans_eos_and_stop_ids_until_reached():
    logits = torch.zeros(1, 10)
    logits[0, EOS] = 50.0
    logits[0, 5] = 40.0
    s = sampler(temperature=0.0, min_tokens=3, stop_token_ids=[5])
    picked = []
    for _ in range(4):
        token = sample(logits, [s])[0].token_id
        s.append(token)
        picked.append(token)
    assert picked[:3] == [0, 0, 0]
    assert picked[3] == EOS
    drawn = [sampler(seed=i, min_tokens=1) for i in range(200)]
    assert EOS not in {r.token_id for r in sample(logits.expand(200, -1), drawn)}


def test_min_tokens_leaves_eos_alone_when_eos_is_ignored():
    logits = torch.zeros(1, 10)
    logits[0, EOS] = 50.0
    logits[0, 5] = 40.0
    s = sampler(temperature=0.0, min_tokens=3, ignore_eos=True, stop_token_ids=[5])
    assert sample(logits, [s])[0].token_id == EOS
    s2 = sampler(temperature=0.0, min_tokens=3, ignore_eos=True, stop_token_ids=[EOS, 5])
    assert sample(logits, [s2])[0].token_id == 0


def test_logprobs_come_from_the_raw_logits_with_the_top_ones_in_order():
    raw = torch.randn(3, 50, generator=torch.Generator().manual_seed(3)).to(torch.float16)
    samplers = [
        sampler(seed=1, temperature=0.5, top_k=3, repetition_penalty=1.5, logprobs=5, prompt=[1, 2]),
        sampler(temperature=0.0, logprobs=0),
        sampler(seed=2),
    ]
    results = sample(raw, samplers)
    reference = torch.log_softmax(raw.double(), dim=-1)
    for row, (result, k) in enumerate(zip(results[:2], (5, 0))):
        assert result.logprob == pytest.approx(reference[row, result.token_id].item(), abs=1e-5)
        order = reference[row].argsort(descending=True)[:k].tolist()
        assert [t for t, _ in result.top_logprobs] == order
        assert [v for _, v in result.top_logprobs] == pytest.approx(reference[row, order].tolist(), abs=1e-5)
    assert results[1].top_logprobs == []
    assert results[2].logprob is None and results[2].top_logprobs is None


def test_logprobs_wider_than_the_vocabulary_list_every_token():
    raw = torch.tensor([[0.0, 1.0, 2.0]])
    result = sample(raw, [sampler(temperature=0.0, logprobs=20)])[0]
    assert [t for t, _ in result.top_logprobs] == [2, 1, 0]


def test_logits_must_have_one_row_per_sampler():
    with pytest.raises(ValueError, match=r"\[2, vocab\]"):
        sample(torch.zeros(3, 10), [sampler(), sampler()])


@pytest.mark.parametrize(
    "field, value",
    [
        ("temperature", -0.1),
        ("temperature", float("nan")),
        ("temperature", float("inf")),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("top_p", float("nan")),
        ("top_k", -1),
        ("min_p", 1.1),
        ("repetition_penalty", 0.0),
        ("presence_penalty", 2.5),
        ("frequency_penalty", -3.0),
        ("n", 0),
        ("max_tokens", 0),
        ("min_tokens", -1),
        ("logprobs", 21),
        ("logprobs", -1),
        ("seed", 2**64),
        ("stop", [""]),
        ("stop_token_ids", [-4]),
        ("temperature", "hot"),
        ("n", True),
    ],
)
def test_invalid_parameters_name_the_field_and_the_allowed_range(field, value):
    with pytest.raises(SamplingError, match=rf"^{field} must be .*, got {re.escape(repr(value))}$"):
        SamplingParams(**{field: value}).validate()


def test_min_tokens_above_max_tokens_is_rejected():
    with pytest.raises(SamplingError, match="min_tokens .* may not exceed max_tokens"):
        SamplingParams(max_tokens=4, min_tokens=5).validate()


def test_valid_parameters_pass_validation():
    SamplingParams().validate()
    SamplingParams(
        n=3, temperature=0.0, top_k=40, top_p=0.95, min_p=0.05, repetition_penalty=1.1, presence_penalty=-2.0,
        frequency_penalty=2.0, seed=-5, max_tokens=10, min_tokens=10, stop=["\n\n"], stop_token_ids=[0],
        logprobs=20,
    ).validate()

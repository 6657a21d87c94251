"""Grammar-constrained decoding in the native engine: per-request grammars, masks per row, logit_bias."""

import json

import jsonschema
import pytest
import torch

from toolsmith.core.engine import LLM, RequestError, SamplingError, SamplingParams
from toolsmith.core.engine.sampler import SequenceSampler, sample
from toolsmith.core.inference.sampling import Constraint

SCHEMA = {
    "type": "object",
    "properties": {"path": {"type": "string", "maxLength": 10}, "count": {"type": "integer", "maximum": 99}, "ok": {"type": "boolean"}},
    "required": ["path", "count", "ok"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def llm(tiny_model):
    folder, _ = tiny_model("llama-tied")
    return LLM(folder, dtype="float32", max_num_seqs=16)


def test_every_constrained_reply_matches_its_schema(llm):
    params = [SamplingParams(seed=s, max_tokens=200, constraint=Constraint(json_schema=SCHEMA)) for s in range(8)]
    for output in llm.generate(["Describe a file"] * 8, params):
        assert output.outputs[0].finish_reason == "stop"
        jsonschema.validate(json.loads(output.outputs[0].text), SCHEMA)


def test_free_rows_are_unchanged_by_constrained_rows_in_the_batch(llm):
    free = SamplingParams(seed=3, max_tokens=20, ignore_eos=True)
    alone = llm.generate("Rename photos", free)[0].outputs[0].text
    constrained = [SamplingParams(seed=s, max_tokens=200, constraint=Constraint(json_object=True)) for s in range(4)]
    outputs = llm.generate(["Rename photos"] * 5, [*constrained, free])
    assert outputs[-1].outputs[0].text == alone


def test_n_completions_each_follow_the_grammar(llm):
    params = SamplingParams(n=3, seed=1, max_tokens=200, constraint=Constraint(json_schema=SCHEMA))
    output = llm.generate("hi", params)[0]
    for completion in output.outputs:
        jsonschema.validate(json.loads(completion.text), SCHEMA)
    assert len({c.text for c in output.outputs}) > 1


def test_a_lark_grammar(llm):
    grammar = 'start: "answer: " ("yes" | "no") "."'
    texts = {o.outputs[0].text for o in llm.generate(["q"] * 6, [SamplingParams(seed=s, max_tokens=20, constraint=Constraint(lark=grammar)) for s in range(6)])}
    assert texts <= {"answer: yes.", "answer: no."}


def test_bad_grammars_and_combinations_are_refused(llm):
    with pytest.raises(RequestError, match="response_format cannot be enforced"):
        llm.generate("q", SamplingParams(constraint=Constraint(lark="start: undefined_rule", source="response_format")))
    with pytest.raises(SamplingError, match="min_tokens"):
        llm.generate("q", SamplingParams(min_tokens=3, constraint=Constraint(json_object=True)))
    with pytest.raises(SamplingError, match="exactly one"):
        llm.generate("q", SamplingParams(constraint=Constraint(json_object=True, lark='start: "x"')))


def test_logit_bias_is_added_before_sampling():
    logits = torch.zeros(2, 50)
    logits[:, 3] = 5.0
    biased = SequenceSampler(SamplingParams(temperature=0, logit_bias={7: 10.0}), [], set())
    plain = SequenceSampler(SamplingParams(temperature=0), [], set())
    assert [r.token_id for r in sample(logits, [biased, plain])] == [7, 3]
    banned = SequenceSampler(SamplingParams(seed=0, logit_bias={3: -100.0}), [], set())
    assert all(r.token_id != 3 for r in sample(logits[:1].expand(1, -1), [banned]) for _ in range(20))
    with pytest.raises(SamplingError, match="logit_bias"):
        SamplingParams(logit_bias={1: 200.0}).validate()

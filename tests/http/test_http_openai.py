"""The official `openai` client against `toolsmith serve`'s app on loopback, with a tiny random model.

Expected texts come from the offline engine (`LLM`) on the same model folder and
expected token counts from the model's tokenizer, not from the server.
"""

import openai
import pytest
from live_server import AUTH, CONTEXT, KEY, MODEL

from toolsmith.core.engine import SamplingParams, Tokenizer

PROMPT = "Rename every photo in this folder"
MESSAGES = [{"role": "system", "content": "You write small tools."}, {"role": "user", "content": "Count the lines of each file"}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    return Tokenizer.from_folder(model_dir)


def greedy_text(offline, prompt, max_tokens, **params):
    return offline.generate(prompt, SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True, **params))[0].text


def test_models_lists_the_served_model(client):
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL]
    assert models.data[0].object == "model"


def test_completion_text_and_usage(client, offline, tokenizer):
    result = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=7, temperature=0, extra_body={"ignore_eos": True})
    assert result.object == "text_completion" and result.model == MODEL
    assert result.choices[0].text == greedy_text(offline, PROMPT, 7)
    assert result.choices[0].finish_reason == "length"
    prompt_tokens = len(tokenizer.encode(PROMPT))
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (prompt_tokens, 7, prompt_tokens + 7)


def test_streamed_completion_equals_the_whole_one(client, offline, tokenizer):
    stream = client.completions.create(
        model=MODEL,
        prompt=PROMPT,
        max_tokens=9,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == greedy_text(offline, PROMPT, 9)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 9
    assert chunks[-1].usage.prompt_tokens == len(tokenizer.encode(PROMPT))
    assert all(c.usage is None for c in chunks[:-1])


def test_prompt_as_token_ids(client, offline):
    ids = [5, 77, 300, 12, 9]
    result = client.completions.create(model=MODEL, prompt=ids, max_tokens=4, temperature=0, extra_body={"ignore_eos": True})
    assert result.choices[0].text == greedy_text(offline, ids, 4)
    assert result.usage.prompt_tokens == len(ids)


def test_chat_completion_uses_the_models_chat_template(client, offline, tokenizer):
    prompt = tokenizer.encode_chat(MESSAGES, add_generation_prompt=True)
    result = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=6, temperature=0, extra_body={"ignore_eos": True})
    assert result.object == "chat.completion"
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.content == greedy_text(offline, prompt, 6)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (len(prompt), 6)


def test_streamed_chat_sends_the_role_first_then_content_then_usage(client, offline, tokenizer):
    prompt = tokenizer.encode_chat(MESSAGES, add_generation_prompt=True)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_completion_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == greedy_text(offline, prompt, 8)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (len(prompt), 8)


def test_stop_sequence_ends_the_text_before_it(client, offline):
    full = greedy_text(offline, PROMPT, 20)
    stop = full[6:9]
    result = client.completions.create(
        model=MODEL, prompt=PROMPT, max_tokens=20, temperature=0, stop=[stop], extra_body={"ignore_eos": True}
    )
    assert result.choices[0].text == full[: full.index(stop)]
    assert result.choices[0].finish_reason == "stop"


def test_n_completions_with_a_seed_are_reproducible(client):
    def ask():
        return client.completions.create(
            model=MODEL, prompt=PROMPT, max_tokens=6, n=3, temperature=1.0, top_p=0.9, seed=7, extra_body={"ignore_eos": True}
        )

    first, second = ask(), ask()
    assert sorted(c.index for c in first.choices) == [0, 1, 2]
    assert [c.text for c in first.choices] == [c.text for c in second.choices]
    assert first.usage.completion_tokens == 3 * 6
    assert len({c.text for c in first.choices}) > 1  # siblings draw different noise


def test_completion_logprobs(client, offline):
    result = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=5, temperature=0, logprobs=2, extra_body={"ignore_eos": True})
    lp = result.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 5
    assert "".join(lp.tokens) == result.choices[0].text or "\ufffd" in "".join(lp.tokens)
    assert all(v <= 0 for v in lp.token_logprobs)
    assert all(len(top) <= 2 and max(top.values()) >= chosen - 1e-4 for top, chosen in zip(lp.top_logprobs, lp.token_logprobs, strict=True))
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)


def test_chat_logprobs(client):
    result = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=4, temperature=0, logprobs=True, top_logprobs=3)
    content = result.choices[0].logprobs.content
    assert len(content) == result.usage.completion_tokens
    for item in content:
        assert len(item.top_logprobs) == 3
        assert item.logprob <= 0 and item.bytes == list(item.token.encode())
        # greedy: the chosen token is the most likely one
        assert item.logprob == pytest.approx(item.top_logprobs[0].logprob, abs=1e-4)


def test_penalties_and_vllm_extras_are_accepted(client):
    result = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_tokens=3,
        presence_penalty=0.5,
        frequency_penalty=1.0,
        extra_body={"top_k": 5},
    )
    assert result.usage.completion_tokens <= 3


def test_out_of_range_parameter_is_a_400_naming_it(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=3, top_p=0)
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "top_p" and caught.value.body["type"] == "invalid_request_error"


def test_max_tokens_above_the_servers_cap_is_refused(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=449)
    assert caught.value.body["param"] == "max_tokens" and "at most 448" in caught.value.body["message"]


def test_prompt_longer_than_the_context_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model=MODEL, prompt=[1] * CONTEXT, max_tokens=64)
    assert "context" in caught.value.body["message"]


def test_wrong_key_is_an_authentication_error(server):
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.models.list()
    assert caught.value.body["type"] == "authentication_error"


def test_success_is_200_not_201(server):
    import httpx

    response = httpx.post(server.url + "/v1/completions", headers=AUTH, json={"prompt": "hi", "max_tokens": 1})
    assert response.status_code == 200


def test_streamed_chat_with_n_choices_matches_the_whole_answer(client):
    ask = dict(model=MODEL, messages=MESSAGES, max_tokens=5, n=2, temperature=0.9, seed=11, extra_body={"ignore_eos": True})
    whole = client.chat.completions.create(**ask)
    texts, roles = {0: "", 1: ""}, {}
    for chunk in client.chat.completions.create(**ask, stream=True):
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            roles.setdefault(choice.index, choice.delta.role)
    assert roles == {0: "assistant", 1: "assistant"}
    assert texts == {c.index: c.message.content for c in whole.choices}

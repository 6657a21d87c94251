"""Structured output, logit_bias, model names and the rule that every parameter is honoured or refused.

The official `openai` client against a served tiny random model: a random model writes
random tokens, so valid JSON can only come from the grammar.
"""

import json

import httpx
import jsonschema
import openai
import pytest

from toolsmith.core.engine import Tokenizer

from live_server import AUTH, KEY, MODEL

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "size": {"type": "integer", "minimum": 0, "maximum": 999},
        "kind": {"enum": ["file", "dir"]},
        "tags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 3},
    },
    "required": ["name", "size", "kind", "tags"],
    "additionalProperties": False,
}
MESSAGES = [{"role": "user", "content": "Describe one file as JSON"}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    return Tokenizer.from_folder(model_dir)


def json_schema_format(schema=SCHEMA):
    return {"type": "json_schema", "json_schema": {"name": "file_info", "schema": schema, "strict": True}}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_json_schema_output_validates(client, seed):
    result = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=200, seed=seed, temperature=1.0, response_format=json_schema_format()
    )
    choice = result.choices[0]
    assert choice.finish_reason == "stop"
    jsonschema.validate(json.loads(choice.message.content), SCHEMA)


def test_streamed_json_schema_output_validates(client):
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=200, seed=4, stream=True, response_format=json_schema_format()
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    jsonschema.validate(json.loads(text), SCHEMA)


def test_json_object_on_completions_with_n_choices(client):
    result = client.completions.create(
        model=MODEL, prompt="A JSON object:", max_tokens=300, n=3, seed=5, extra_body={"response_format": {"type": "json_object"}}
    )
    for choice in result.choices:
        if choice.finish_reason == "stop":  # a random model may write one long string until max_tokens
            assert isinstance(json.loads(choice.text), dict)
    assert any(c.finish_reason == "stop" for c in result.choices)


def test_constrained_and_free_requests_share_a_batch(client, server):
    """A free request's answer is the same whether or not constrained ones run beside it."""
    import concurrent.futures

    def free():
        return client.completions.create(model=MODEL, prompt="Rename photos", max_tokens=24, temperature=0, extra_body={"ignore_eos": True})

    def constrained(seed):
        return client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=200, seed=seed, response_format=json_schema_format())

    alone = free().choices[0].text
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        jobs = [pool.submit(constrained, s) for s in range(5)]
        beside = pool.submit(free)
        for job in jobs:
            jsonschema.validate(json.loads(job.result().choices[0].message.content), SCHEMA)
    assert beside.result().choices[0].text == alone


def test_a_schema_that_cannot_be_enforced_is_a_400_naming_response_format(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, response_format=json_schema_format({"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}})
        )
    assert caught.value.body["param"] == "response_format"


def test_logit_bias_forces_and_bans_tokens(client, tokenizer):
    token = tokenizer.encode(" photo")[0]
    forced = client.completions.create(
        model=MODEL, prompt="Rename", max_tokens=5, temperature=1.0, seed=1, logit_bias={str(token): 100}, extra_body={"ignore_eos": True}
    )
    assert forced.choices[0].text == tokenizer.decode([token] * 5)
    greedy = client.completions.create(model=MODEL, prompt="Rename", max_tokens=1, temperature=0, extra_body={"return_token_ids": True})
    first = greedy.choices[0].token_ids[0]
    banned = client.completions.create(
        model=MODEL, prompt="Rename", max_tokens=1, temperature=0, logit_bias={str(first): -100}, extra_body={"return_token_ids": True}
    )
    assert banned.choices[0].token_ids[0] != first


def test_logit_bias_outside_the_vocabulary_is_refused(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model=MODEL, prompt="hi", max_tokens=1, logit_bias={"99999": 5})
    assert caught.value.body["param"] == "logit_bias"


# -- models


def test_models_retrieve_and_unknown_model(client):
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("nope")
    assert caught.value.body["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="nope", messages=MESSAGES, max_tokens=1)
    assert caught.value.body["code"] == "model_not_found" and caught.value.body["param"] == "model"


def test_a_model_that_failed_to_load_is_not_listed(tmp_path):
    from toolsmith.core.frontends.http import create_app

    from live_server import Server, small_config

    def broken():
        raise RuntimeError("weights are corrupt")

    app = create_app(api_key=KEY, open_engine=broken, model_name="broken", config=small_config())
    with Server(app, healthy=False) as running:
        listed = httpx.get(running.url + "/v1/models", headers=AUTH).json()
        assert listed["data"] == []
        one = httpx.get(running.url + "/v1/models/broken", headers=AUTH)
        assert one.status_code == 503 and "weights are corrupt" in one.json()["error"]["message"]


# -- the rule: honoured or refused by name


@pytest.mark.parametrize(
    "messages, extra, param",
    [
        (MESSAGES, {"some_other_servers_option": True}, "some_other_servers_option"),  # unknown
        (MESSAGES, {"functions": [{"name": "f"}]}, "functions"),  # OpenAI's, unsupported: the message says what to send
        (MESSAGES, {"reasoning_effort": "high"}, "reasoning_effort"),
        ([{"role": "user", "content": "hi", "cache": True}], {}, "messages[0].cache"),  # unknown, nested
        (MESSAGES, {"response_format": {"type": "json_object", "strict": True}}, "response_format.strict"),
        (MESSAGES, {"stream_options": {"continuous_usage_stats": True}}, "stream_options.continuous_usage_stats"),
    ],
)
def test_unknown_and_unsupported_fields_are_refused_by_name(client, messages, extra, param):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, max_tokens=1, messages=messages, extra_body=extra)
    assert caught.value.body["param"] == param
    assert param in caught.value.body["message"]


def test_unsupported_values_are_refused_by_name(client):
    cases = [
        (lambda: client.completions.create(model=MODEL, prompt="hi", max_tokens=1, echo=True), "echo"),
        (lambda: client.completions.create(model=MODEL, prompt="hi", max_tokens=1, best_of=2), "best_of"),
        (
            lambda: client.chat.completions.create(
                model=MODEL, max_tokens=1, messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
            ),
            "messages",
        ),
        (lambda: client.chat.completions.create(model=MODEL, max_tokens=1, messages=MESSAGES, tool_choice="required"), "tool_choice"),
        (lambda: client.chat.completions.create(model=MODEL, max_tokens=1, messages=[{"role": "robot", "content": "x"}]), "messages[0].role"),
        (
            lambda: client.completions.create(model=MODEL, prompt="hi", max_tokens=1, extra_body={"min_tokens": 2, "response_format": {"type": "json_object"}}),
            "min_tokens",
        ),
    ]
    for call, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert caught.value.body["param"] == param, caught.value.body

"""schemathesis against /schema/openapi.json on a live server: no 5xx, every response as documented."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import encode_json
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from toolsmith.core.frontends.http import create_app

from live_server import AUTH, KEY, MODEL, Server, open_tiny, small_config

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(model_dir):
    # a low max_tokens cap keeps random requests quick
    app = create_app(api_key=KEY, open_engine=open_tiny(model_dir), model_name=MODEL, config=small_config(max_tokens=16))
    with Server(app) as running:
        yield running


# The same schema /schema/openapi.json serves (the test below checks that), loaded at collection time.
schema = schemathesis.openapi.from_dict(json.loads(encode_json(create_app(api_key=KEY, config=small_config()).openapi_schema.to_schema())))


def test_the_served_schema_is_the_one_tested(live):
    import httpx

    served = httpx.get(live.url + "/schema/openapi.json", headers=AUTH).json()
    assert served["paths"] == schema.raw_schema["paths"]


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, live):
    case.call_and_validate(base_url=live.url, headers=AUTH, checks=CHECKS, timeout=60)

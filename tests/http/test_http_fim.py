"""Fill-in-the-middle: `suffix` on /v1/completions, llama.cpp's /infill, and the Continue autocomplete entry."""

from pathlib import Path

import httpx
import openai
import pytest
import yaml

from toolsmith.core.engine import LLM, SamplingParams
from toolsmith.core.frontends.http import create_app

from live_server import AUTH, CONTEXT, KEY, MODEL, Server, open_tiny, small_config
from tool_models import build_fim

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"
CONTINUE = Path(__file__).parents[2] / "examples" / "editors" / "vscode" / "continue-config.yaml"


@pytest.fixture(scope="module")
def fim_dir(tmp_path_factory):
    return build_fim(tmp_path_factory.mktemp("tiny-fim"), CONTEXT)


@pytest.fixture(scope="module")
def fim_server(fim_dir):
    app = create_app(api_key=KEY, open_engine=open_tiny(fim_dir), model_name=MODEL, config=small_config())
    with Server(app) as running:
        yield running


@pytest.fixture(scope="module")
def expected(fim_dir):
    """The middle the offline engine writes for the PSM prompt, built by hand from the marker ids."""
    llm = LLM(fim_dir, dtype="float32")
    tok = llm.tokenizer
    ids = [tok.token_to_id("<|fim_prefix|>"), *tok.encode(PREFIX), tok.token_to_id("<|fim_suffix|>"), *tok.encode(SUFFIX), tok.token_to_id("<|fim_middle|>")]
    stops = [tok.token_to_id(t) for t in ("<|fim_pad|>", "<|endoftext|>", "<|file_sep|>")]
    return llm.generate(ids, SamplingParams(temperature=0, max_tokens=12, stop_token_ids=stops))[0].outputs[0].text


def test_suffix_fills_the_middle(fim_server, expected):
    client = openai.OpenAI(base_url=fim_server.url + "/v1", api_key=KEY, max_retries=0)
    result = client.completions.create(model=MODEL, prompt=PREFIX, suffix=SUFFIX, max_tokens=12, temperature=0)
    assert result.choices[0].text == expected


def test_llama_cpp_infill(fim_server, expected):
    body = {"input_prefix": PREFIX, "input_suffix": SUFFIX, "n_predict": 12, "temperature": 0}
    answer = httpx.post(fim_server.url + "/infill", headers=AUTH, json=body).json()
    assert answer["content"] == expected and answer["stop"] is True and answer["tokens_predicted"] <= 12
    with httpx.stream("POST", fim_server.url + "/infill", headers=AUTH, json={**body, "stream": True}) as response:
        import json

        events = [json.loads(line[len("data: ") :]) for line in response.iter_lines() if line.startswith("data: ")]
    assert "".join(e["content"] for e in events) == expected and events[-1]["stop"] is True


def test_continue_autocomplete_entry_drives_the_server(fim_server, expected):
    """What Continue sends for the autocomplete entry: its FIM template filled in, to apiBase's /completions."""
    config = yaml.safe_load(CONTINUE.read_text())
    [entry] = [m for m in config["models"] if "autocomplete" in m["roles"]]
    assert entry["apiBase"] == "http://127.0.0.1:8765/v1" and entry["apiKey"] == "${{ secrets.TOOLSMITH_API_KEY }}"
    template = entry["promptTemplates"]["autocomplete"]
    prompt = template.replace("{{{prefix}}}", PREFIX).replace("{{{suffix}}}", SUFFIX)
    url = entry["apiBase"].replace("http://127.0.0.1:8765", fim_server.url)
    answer = httpx.post(
        url + "/completions", headers={"Authorization": f"Bearer {KEY}"}, json={"model": MODEL, "prompt": prompt, "max_tokens": 12, "temperature": 0}
    ).json()
    # the same prompt ids; without the FIM stop ids it may write on past where `expected` stopped
    assert answer["choices"][0]["text"].startswith(expected)


def test_suffix_is_refused_by_name_for_a_model_without_fim_tokens(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model=MODEL, prompt=PREFIX, suffix=SUFFIX, max_tokens=4)
    assert caught.value.body["param"] == "suffix" and "FIM" in caught.value.body["message"]
    infill = httpx.post(server.url + "/infill", headers=AUTH, json={"input_prefix": PREFIX})
    assert infill.status_code == 400 and infill.json()["error"]["param"] == "input_prefix"

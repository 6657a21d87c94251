"""Loading a model folder's tokenizer: encoding, EOS ids, chat templates (against transformers), errors."""

import json
import shutil

import pytest
from transformers import AutoTokenizer

from fixtures import BOS_TOKEN, EOS_TOKEN, SPECIAL_TOKENS, write_tokenizer
from toolsmith.core.engine.tokenizer import Tokenizer, TokenizerError

MULTILINGUAL = [
    "Rename the photos by date, please.",
    "Crème brûlée à la façade — naïve Übermäßig",
    "你好，世界！日本語のテキスト、한국어",
    "Emoji 🙂🎉 with skin tone 👍🏽, a family 👨‍👩‍👧 and a flag 🇫🇷",
    "  leading spaces,\ttabs\nand new\r\nlines  ",
    "rare: ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀",
]

CONVERSATIONS = [
    [{"role": "user", "content": "Count the lines in every .csv file."}],
    [
        {"role": "system", "content": "You write small shell tools."},
        {"role": "user", "content": "Résumé of 日本語 🙂?"},
        {"role": "assistant", "content": "Sure:\n```sh\nwc -l *.csv\n```"},
        {"role": "user", "content": "Thanks"},
    ],
]


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    write_tokenizer(folder)
    return folder


@pytest.fixture
def folder(model_folder, tmp_path):
    """A private copy of the model folder that a test may edit."""
    copy = tmp_path / "model"
    shutil.copytree(model_folder, copy)
    return copy


def edit_config(folder, **changes):
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(json.dumps(config), encoding="utf-8")


@pytest.mark.parametrize("text", MULTILINGUAL)
def test_encode_decode_round_trips_and_matches_transformers(model_folder, text):
    tokenizer = Tokenizer.from_folder(model_folder)
    reference = AutoTokenizer.from_pretrained(model_folder)
    ids = tokenizer.encode(text)
    assert ids == reference.encode(text)
    assert tokenizer.decode(ids) == text


def test_special_tokens_and_vocabulary(model_folder):
    tokenizer = Tokenizer.from_folder(model_folder)
    reference = AutoTokenizer.from_pretrained(model_folder)
    assert tokenizer.vocab_size == len(reference) == 512
    assert tokenizer.eos_token_ids == {reference.eos_token_id}
    assert tokenizer.bos_token_id == reference.bos_token_id == tokenizer.token_to_id(BOS_TOKEN)
    special = {i for i, t in reference.added_tokens_decoder.items() if t.special}
    assert {reference.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS} == special
    assert tokenizer.all_special_ids == special
    ids = tokenizer.encode(f"hi{EOS_TOKEN}")
    assert ids[-1] == reference.convert_tokens_to_ids(EOS_TOKEN)
    assert tokenizer.decode(ids) == "hi"
    assert tokenizer.decode(ids, skip_special_tokens=False) == f"hi{EOS_TOKEN}"


@pytest.mark.parametrize("vocab_size", [300, 1500])
def test_fixture_tokenizers_have_exactly_the_requested_vocabulary(tmp_path, vocab_size):
    write_tokenizer(tmp_path, vocab_size=vocab_size)
    tokenizer = Tokenizer.from_folder(tmp_path)
    reference = AutoTokenizer.from_pretrained(tmp_path)
    assert tokenizer.vocab_size == len(reference) == vocab_size
    assert tokenizer.all_special_ids == {i for i, t in reference.added_tokens_decoder.items() if t.special}
    assert tokenizer.decode(tokenizer.encode(MULTILINGUAL[3])) == MULTILINGUAL[3]


def test_bos_is_added_when_the_post_processor_says_so(tmp_path):
    write_tokenizer(tmp_path, add_bos_token=True)
    tokenizer = Tokenizer.from_folder(tmp_path)
    reference = AutoTokenizer.from_pretrained(tmp_path)
    assert tokenizer.encode("hello") == reference.encode("hello")
    assert tokenizer.encode("hello")[0] == tokenizer.bos_token_id
    assert tokenizer.encode("hello", add_special_tokens=False)[0] != tokenizer.bos_token_id


def test_eos_ids_from_generation_config_win_over_config_json(folder):
    (folder / "config.json").write_text(json.dumps({"eos_token_id": 5}))
    assert Tokenizer.from_folder(folder).eos_token_ids == {5}
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 9, 11]}))
    assert Tokenizer.from_folder(folder).eos_token_ids == {2, 9, 11}


def test_eos_id_of_a_bad_type_names_the_file(folder):
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": "two"}))
    with pytest.raises(TokenizerError, match=r"generation_config\.json: eos_token_id"):
        Tokenizer.from_folder(folder)


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("add_generation_prompt", [True, False])
def test_chat_template_renders_like_transformers(model_folder, conversation, add_generation_prompt):
    tokenizer = Tokenizer.from_folder(model_folder)
    reference = AutoTokenizer.from_pretrained(model_folder)
    expected = reference.apply_chat_template(
        conversation, tokenize=False, add_generation_prompt=add_generation_prompt
    )
    assert tokenizer.apply_chat_template(conversation, add_generation_prompt=add_generation_prompt) == expected
    assert expected.startswith("<|im_start|>system\n")  # the template ran, with trim_blocks/lstrip_blocks


def test_chat_token_ids_match_transformers_with_a_single_bos(tmp_path):
    write_tokenizer(tmp_path, add_bos_token=True)
    edit_config(tmp_path, chat_template="{{ bos_token }}{% for m in messages %}{{ m.content }}\n{% endfor %}")
    tokenizer = Tokenizer.from_folder(tmp_path)
    expected = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template(
        CONVERSATIONS[1], tokenize=True, return_dict=False, add_generation_prompt=True
    )
    assert tokenizer.encode_chat(CONVERSATIONS[1]) == expected
    assert expected.count(tokenizer.bos_token_id) == 1


TOOLS_TEMPLATE = """\
{{ bos_token }}
{%- if tools %}
Tools: {{ tools | tojson }}
{% endif %}
{% for m in messages %}
  {% if m.role == 'tool' %}{% continue %}{% endif %}
  {% generation %}[{{ m.role | upper }}] {{ m.content }}{% endgeneration %}
{{ eos_token }}
{% endfor %}
{% if add_generation_prompt %}[ASSISTANT] {% endif %}"""

TOOLS = [{"type": "function", "function": {"name": "count_lines", "description": "Zählt Zeilen ✓"}}]


def test_tools_filters_and_special_variables_render_like_transformers(folder):
    edit_config(folder, chat_template=TOOLS_TEMPLATE)
    messages = CONVERSATIONS[1] + [{"role": "tool", "content": "42"}]
    expected = AutoTokenizer.from_pretrained(folder).apply_chat_template(
        messages, tools=TOOLS, tokenize=False, add_generation_prompt=True
    )
    assert Tokenizer.from_folder(folder).apply_chat_template(messages, tools=TOOLS) == expected
    assert "Zählt Zeilen ✓" in expected and "[TOOL]" not in expected


def test_named_template_list_uses_default_and_tool_use_with_tools(folder):
    edit_config(folder, chat_template=[{"name": "tool_use", "template": "TOOLS"}, {"name": "default", "template": "D"}])
    tokenizer = Tokenizer.from_folder(folder)
    assert tokenizer.apply_chat_template(CONVERSATIONS[0]) == "D"
    assert tokenizer.apply_chat_template(CONVERSATIONS[0], tools=TOOLS) == "TOOLS"
    assert tokenizer.apply_chat_template(CONVERSATIONS[0], tools=[]) == "D"  # no tools: the default


def test_named_templates_without_tool_use_render_tools_with_the_default(folder):
    edit_config(folder, chat_template=[{"name": "default", "template": "{{ tools | length }}"}])
    assert Tokenizer.from_folder(folder).apply_chat_template(CONVERSATIONS[0], tools=TOOLS) == str(len(TOOLS))


def test_chat_template_jinja_file_is_used(folder):
    (folder / "chat_template.jinja").write_text("{{ messages[0]['content'] }}!", encoding="utf-8")
    assert Tokenizer.from_folder(folder).apply_chat_template(CONVERSATIONS[0]) == CONVERSATIONS[0][0]["content"] + "!"


def test_strftime_now_gives_the_date(folder):
    edit_config(folder, chat_template="{{ strftime_now('%Y') }}")
    rendered = Tokenizer.from_folder(folder).apply_chat_template([])
    assert rendered.isdigit() and int(rendered) >= 2025


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% set x = messages.append({'role': 'user', 'content': 'injected'}) %}{{ messages }}",
    ],
)
def test_sandbox_blocks_escapes_and_mutation_with_a_clear_error(folder, template):
    edit_config(folder, chat_template=template)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(TokenizerError, match="the chat template failed: SecurityError: .*unsafe"):
        Tokenizer.from_folder(folder).apply_chat_template(messages)
    assert messages == [{"role": "user", "content": "hi"}]


def test_raise_exception_in_a_template_becomes_a_tokenizer_error(folder):
    edit_config(folder, chat_template="{{ raise_exception('Conversation roles must alternate') }}")
    with pytest.raises(TokenizerError, match="Conversation roles must alternate"):
        Tokenizer.from_folder(folder).apply_chat_template(CONVERSATIONS[0])


def test_template_syntax_error_is_reported_with_its_line(folder):
    edit_config(folder, chat_template="line one\n{% for m in messages %}")
    with pytest.raises(TokenizerError, match="syntax error on line 2"):
        Tokenizer.from_folder(folder).apply_chat_template(CONVERSATIONS[0])


def test_missing_chat_template_is_a_clear_error(folder):
    edit_config(folder, chat_template=None)
    with pytest.raises(TokenizerError, match="no chat template"):
        Tokenizer.from_folder(folder).apply_chat_template(CONVERSATIONS[0])


def test_sentencepiece_only_folder_is_refused_saying_what_to_do(folder):
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer.model").write_bytes(b"\0")
    with pytest.raises(TokenizerError, match="only a SentencePiece tokenizer.model; Toolsmith needs tokenizer.json"):
        Tokenizer.from_folder(folder)


def test_missing_tokenizer_json_names_the_file(folder):
    (folder / "tokenizer.json").unlink()
    with pytest.raises(TokenizerError, match=r"tokenizer\.json not found"):
        Tokenizer.from_folder(folder)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("tokenizer.json", '{"version": "1.0", "model": 3}', r"tokenizer\.json is not a valid tokenizer file"),
        ("tokenizer_config.json", "{not json", r"tokenizer_config\.json is not valid JSON"),
        ("tokenizer_config.json", "[1, 2]", r"tokenizer_config\.json must hold a JSON object"),
        ("generation_config.json", "", r"generation_config\.json is not valid JSON"),
    ],
)
def test_invalid_files_are_named(folder, name, content, message):
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(TokenizerError, match=message):
        Tokenizer.from_folder(folder)


def test_unknown_eos_token_is_reported(folder):
    edit_config(folder, eos_token="<|nope|>")
    with pytest.raises(TokenizerError, match="eos_token '<\\|nope\\|>' is not in the vocabulary"):
        Tokenizer.from_folder(folder)

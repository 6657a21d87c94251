"""Streaming detokenization with the real byte-level BPE: whole characters only, stop strings cut."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from fixtures import write_tokenizer
from toolsmith.core.engine.detokenizer import IncrementalDetokenizer
from toolsmith.core.engine.tokenizer import Tokenizer

VOCAB = 512
TEXTS = [
    "Rename every photo by its date. ",
    "Crème brûlée, naïve façade; ",
    "你好，世界！日本語のテキスト。",
    "Emoji 🙂🎉 👍🏽 👨‍👩‍👧 🇫🇷 ",
    "rare 𓀀 ꙮ 𝔘𝔫𝔦 ",
]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenizer")
    write_tokenizer(folder, vocab_size=VOCAB)
    return Tokenizer.from_folder(folder)


def stream(tokenizer, ids, stop=(), skip_special_tokens=True, prompt_ids=None):
    """Push every id; return the detokenizer and the pieces it handed out (flush last)."""
    detok = IncrementalDetokenizer(tokenizer, list(stop), skip_special_tokens, prompt_ids=prompt_ids)
    pieces = [detok.push(i) for i in ids]
    return detok, pieces + [detok.flush()]


@PROPERTY
@given(ids=st.lists(st.integers(0, VOCAB - 1), max_size=40), skip=st.booleans())
def test_pieces_add_up_to_the_full_decode_for_any_token_sequence(tokenizer, ids, skip):
    """Pieces are never taken back, so this equality also means no piece holds a made-up U+FFFD."""
    detok, pieces = stream(tokenizer, ids, skip_special_tokens=skip)
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=skip) == detok.text
    assert not detok.stopped


@PROPERTY
@given(ids=st.lists(st.integers(0, VOCAB - 1), max_size=40))
def test_text_is_held_back_only_while_a_character_is_unfinished(tokenizer, ids):
    detok, shown = IncrementalDetokenizer(tokenizer, []), ""
    for i, token in enumerate(ids, start=1):
        shown += detok.push(token)
        so_far = tokenizer.decode(ids[:i])
        if not so_far.endswith("\ufffd"):
            assert shown == so_far
        else:
            assert so_far.startswith(shown)


@PROPERTY
@given(prompt=st.text(max_size=30), ids=st.lists(st.integers(0, VOCAB - 1), max_size=30))
def test_with_a_prompt_the_pieces_are_what_the_tokens_add_to_its_text(tokenizer, prompt, ids):
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    detok, pieces = stream(tokenizer, ids, prompt_ids=prompt_ids)
    assert "".join(pieces) == tokenizer.decode(prompt_ids + ids)[len(prompt) :]


def test_a_prompt_gives_sentencepiece_tokens_their_leading_space():
    """SentencePiece-style decoders drop the space of the first token decoded; the prompt keeps it."""
    hf = HFTokenizer(models.BPE(unk_token="<unk>"))
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    hf.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>"], show_progress=False)
    hf.train_from_iterator(["hello world, the world says hello"] * 10, trainer)
    tokenizer = Tokenizer(hf, eos_token_ids=set())
    prompt, generated = tokenizer.encode("hello"), tokenizer.encode("hello world")[-1:]
    assert tokenizer.decode(generated) == "world"
    assert "".join(stream(tokenizer, generated, prompt_ids=prompt)[1]) == " world"
    assert "".join(stream(tokenizer, generated)[1]) == "world"


@PROPERTY
@given(text=st.text(max_size=60))
def test_any_text_streams_back_exactly(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok, pieces = stream(tokenizer, ids)
    assert "".join(pieces) == text


@PROPERTY
@given(data=st.data(), text=st.text(alphabet=st.sampled_from("ab c\n🙂é你"), min_size=1, max_size=40))
def test_output_stops_right_before_the_first_stop_string(tokenizer, data, text):
    start = data.draw(st.integers(0, len(text) - 1))
    stops = [text[start : data.draw(st.integers(start + 1, min(len(text), start + 4)))]]
    stops += data.draw(st.lists(st.text(alphabet="ab c", min_size=1, max_size=3), max_size=2))
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok, pieces = stream(tokenizer, ids, stops)
    out = "".join(pieces)
    assert detok.stopped and out == detok.text
    assert text.startswith(out)
    assert any(text[len(out) :].startswith(s) for s in stops)
    assert not any(s in out for s in stops)


def split_characters(tokenizer, ids):
    """How many tokens end inside a multi-byte character."""
    return sum(tokenizer.decode(ids[: i + 1]).endswith("\ufffd") for i in range(len(ids)))


@pytest.mark.parametrize("text", TEXTS[1:])
def test_characters_split_across_tokens_are_held_until_complete(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert split_characters(tokenizer, ids) > 0  # the case under test really occurs
    detok, pieces = stream(tokenizer, ids)
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)
    assert pieces[-1] == ""  # nothing was left for flush


def boundaries(tokenizer, ids):
    return {len(tokenizer.decode(ids[:i])) for i in range(len(ids) + 1)}


def test_a_stop_string_spanning_tokens_is_cut_and_nothing_after_it_is_emitted(tokenizer):
    text = "Please wait. STOP! Do not print this."
    ids = tokenizer.encode(text, add_special_tokens=False)
    at = text.index("STOP")
    assert boundaries(tokenizer, ids) & set(range(at + 1, at + 4))  # a token boundary inside "STOP"
    detok = IncrementalDetokenizer(tokenizer, ["STOP"])
    pieces = [detok.push(i) for i in ids]
    assert "".join(pieces) == "Please wait. " == detok.text
    assert detok.stopped
    assert detok.push(ids[0]) == "" and detok.flush() == ""


def test_a_multibyte_stop_string_is_found(tokenizer):
    text = "Emoji 🙂🎉 then more"
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok, pieces = stream(tokenizer, ids, ["🎉"])
    assert "".join(pieces) == "Emoji 🙂" and detok.stopped


def test_the_stop_string_that_appears_first_wins(tokenizer):
    ids = tokenizer.encode("hello world, hello", add_special_tokens=False)
    detok, pieces = stream(tokenizer, ids, ["world", "lo w"])
    assert "".join(pieces) == "hel"


def test_a_possible_stop_prefix_is_held_back_and_flushed_when_no_stop_follows(tokenizer):
    text = "total: 42 ###EN"
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok = IncrementalDetokenizer(tokenizer, ["###END"])
    pushed = "".join(detok.push(i) for i in ids)
    assert pushed == "total: 42 "
    assert detok.flush() == "###EN"
    assert detok.text == text and not detok.stopped


def test_held_text_is_released_as_soon_as_it_can_no_longer_be_a_stop(tokenizer):
    text = "a ## b"
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok = IncrementalDetokenizer(tokenizer, ["###"])
    assert "".join(detok.push(i) for i in ids) == text
    assert detok.flush() == ""


class CountingTokenizer:
    """Records how many ids each decode call is given."""

    def __init__(self, tokenizer):
        self.tokenizer, self.sizes = tokenizer, []

    def decode(self, ids, skip_special_tokens=True):
        self.sizes.append(len(ids))
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)


def largest_decode(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    counting = CountingTokenizer(tokenizer)
    detok, pieces = stream(counting, ids, ["never appears"])
    assert "".join(pieces) == text
    return max(counting.sizes)


def test_each_push_decodes_a_window_that_does_not_grow_with_the_output(tokenizer):
    text = "".join(TEXTS)
    short, long = largest_decode(tokenizer, text * 5), largest_decode(tokenizer, text * 40)
    assert short == long < 16

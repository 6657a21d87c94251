"""The forge's reply grammar: whatever a model picks among the tokens it allows, the reply parses."""

import random

import pytest
from fixtures import write_tokenizer

from toolsmith.core.engine import grammar as engine_grammar
from toolsmith.core.forge.extract import Extracted, extract
from toolsmith.core.forge.reply_format import reply_constraint


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from toolsmith.core.engine.tokenizer import Tokenizer

    folder = tmp_path_factory.mktemp("tokenizer")
    write_tokenizer(folder, vocab_size=512)
    return Tokenizer.from_folder(folder)


@pytest.mark.parametrize("seed", range(6))
def test_random_walks_through_the_grammar_always_parse(tokenizer, seed):
    """A random model is a random walk through the allowed tokens: its reply still parses, inside the forge's budget."""
    compiler = engine_grammar.GrammarCompiler(tokenizer.to_json(), tokenizer.vocab_size, tokenizer.eos_token_ids)
    state = compiler.matcher(reply_constraint())
    rng = random.Random(seed)
    ids = []
    while not state.done and len(ids) < 2048:  # the forge's default max_tokens
        allowed = engine_grammar.allowed_tokens([state], tokenizer.vocab_size)[0].nonzero().flatten().tolist()
        ids.append(rng.choice(allowed))
        state.consume(ids[-1])
    found = extract(tokenizer.decode(ids), default_name="t", default_description="a tool")
    assert isinstance(found, Extracted), found
    assert found.manifest.language in ("python", "bash")


def test_a_well_formed_reply_is_in_the_grammar(tokenizer):
    reply = (
        '```toml\nname = "shout-file"\ndescription = "Print a file in capitals"\nrequires = []\nnetwork = false\n\n'
        '[[parameters]]\nname = "file"\nkind = "file"\naccess = "read"\npositional = true\nrequired = true\nhelp = "the file"\n'
        '```\n\n```python\nimport sys\n\n\ndef main():\n    print(open(sys.argv[1]).read().upper())\n```'
    )
    compiler = engine_grammar.GrammarCompiler(tokenizer.to_json(), tokenizer.vocab_size, tokenizer.eos_token_ids)
    state = compiler.matcher(reply_constraint())
    for token in tokenizer.encode(reply):
        assert not state.done
        state.consume(token)
    assert state.done and isinstance(extract(reply, default_name="t", default_description="d"), Extracted)

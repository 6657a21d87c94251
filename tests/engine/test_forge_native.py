"""The forge on the real native engine: a tiny random model writes garbage, the forge
feeds the problems back, gives up cleanly after its attempts, and saves nothing."""

import msgspec
import pytest
from transformers import LlamaConfig, LlamaForCausalLM

from toolsmith.core.base import config as config_module
from toolsmith.core.forge import events as ev
from toolsmith.core.forge.pipeline import forge_new
from toolsmith.core.tools import model_registry as models
from toolsmith.core.tools.library import Library

from fixtures import write_tokenizer


@pytest.fixture(scope="module")
def long_context_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forge-model")
    write_tokenizer(folder, vocab_size=512)
    config = LlamaConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=16384, tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


def test_models_add_detects_the_format(long_context_model):
    entry = models.add(long_context_model, name="tiny")
    assert (entry.name, entry.format, entry.architecture) == ("tiny", "float32", "LlamaForCausalLM")
    assert models.load_registry().default == "tiny"


def test_garbage_output_is_repaired_then_refused(long_context_model):
    models.add(long_context_model, name="tiny")
    config = config_module.load()
    config = msgspec.structs.replace(config, forge=msgspec.structs.replace(config.forge, max_tokens=40, max_attempts=2))
    engine = models.open_engine(config)
    try:
        events = list(forge_new("rename photos by date", config, engine=engine, generate=True))
    finally:
        engine.shutdown()
    attempts = [e for e in events if isinstance(e, ev.Attempt)]
    assert [a.number for a in attempts] == [1, 2]
    checks = [e for e in events if isinstance(e, ev.Checked)]
    assert len(checks) == 2 and all(c.errors for c in checks)  # random weights never write a valid tool
    assert any(isinstance(e, ev.Token) and e.text for e in events)  # tokens streamed as generated
    assert isinstance(events[-1], ev.Error) and "nothing was saved" in events[-1].message
    assert Library().names() == []
    metrics = engine.metrics()
    assert metrics.num_running == 0 and metrics.kv_blocks_used == 0  # every request finished and freed its blocks


def test_with_the_reply_grammar_every_reply_parses(long_context_model):
    """The native engine holds even random weights to the reply format: the checks, not the parser, find the faults."""
    models.add(long_context_model, name="tiny")
    config = config_module.load()
    config = msgspec.structs.replace(config, forge=msgspec.structs.replace(config.forge, max_attempts=2))
    engine = models.open_engine(config)
    try:
        events = list(forge_new("rename photos by date", config, engine=engine, generate=True))
    finally:
        engine.shutdown()
    checks = [e for e in events if isinstance(e, ev.Checked)]
    assert len(checks) == 2
    assert not [d for c in checks for d in c.diagnostics if d.rule in ("no-code", "manifest")]  # every reply parsed
    assert isinstance(events[-1], ev.Error) and Library().names() == []

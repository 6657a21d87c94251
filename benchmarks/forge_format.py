"""How many forge replies parse (manifest + fenced source), free and held to the reply grammar.

Run: ``python benchmarks/forge_format.py [--json] [--requests 12] [--max-tokens 2048]``.  A tiny
random Llama (the tests' offline tokenizer, nothing downloaded) answers the forge's real
prompt (conventions, two recipes as worked examples, the request) for held-out requests,
once free and once with the native engine enforcing `core/forge/reply_format.py`'s grammar.
A reply parses when `extract` returns a manifest and a source (the forge's checks come after).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))

import torch  # noqa: E402
from fixtures import write_tokenizer  # noqa: E402  (the tests' offline tokenizer builder)

from toolsmith.core.base.config import ForgeConfig  # noqa: E402
from toolsmith.core.engine import AsyncEngine  # noqa: E402
from toolsmith.core.forge import prompt  # noqa: E402
from toolsmith.core.forge.extract import extract  # noqa: E402
from toolsmith.core.forge.generate import stream_deltas  # noqa: E402
from toolsmith.core.forge.pipeline import EXAMPLES, slug  # noqa: E402
from toolsmith.core.tools.recipes import recipes  # noqa: E402
from toolsmith.core.tools.retrieval import search  # noqa: E402


class Free:
    """The same engine without its grammar support: what the forge did before."""

    constraints = frozenset()

    def __init__(self, engine):
        self._engine = engine

    def generate_chat(self, messages, params, request_id=None):
        return self._engine.generate_chat(messages, params, request_id)


def tiny_model(folder: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    write_tokenizer(folder, vocab_size=512)
    config = LlamaConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=16384, tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


def requests(count: int) -> list[str]:
    lines = (ROOT / "tests" / "recipes" / "heldout_paraphrases.txt").read_text(encoding="utf-8").splitlines()
    texts = [line.split("|", 1)[1].strip() for line in lines if "|" in line and not line.startswith("#")]
    return texts[:count]


def run(engine, descriptions: list[str], settings: ForgeConfig) -> dict:
    catalog = recipes()
    parsed, chars, seconds = 0, 0, 0.0
    for description in descriptions:
        examples = [catalog[m.recipe_name] for m in search(description, limit=EXAMPLES)]
        messages = prompt.new_messages(description, examples)
        start = time.perf_counter()
        reply = "".join(stream_deltas(engine, messages, settings))
        seconds += time.perf_counter() - start
        chars += len(reply)
        parsed += not isinstance(extract(reply, default_name=slug(description), default_description=description), list)
    n = len(descriptions)
    return {"replies": n, "parsed": parsed, "parse_rate": parsed / n, "mean_chars": chars / n, "mean_seconds": seconds / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=ForgeConfig().max_tokens)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = ForgeConfig(max_tokens=args.max_tokens)
    descriptions = requests(args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        engine = AsyncEngine(tiny_model(Path(tmp)), device="cpu")
        try:
            before = run(Free(engine), descriptions, settings)
            after = run(engine, descriptions, settings)
        finally:
            engine.shutdown()
    result = {"model": "tiny random llama (vocab 512)", "max_tokens": args.max_tokens, "free": before, "grammar": after}
    if not args.json:
        for name, r in (("free   ", before), ("grammar", after)):
            print(f"{name}: {r['parsed']}/{r['replies']} replies parse ({r['parse_rate']:.0%}); "
                  f"{r['mean_chars']:.0f} characters, {r['mean_seconds']:.2f} s per reply")
        print(f"the grammar: {after['parse_rate'] - before['parse_rate']:+.0%} of replies parse, "
              f"x{after['mean_seconds'] / before['mean_seconds']:.2f} time per reply")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""What grammar-constrained decoding costs per token, at batch 1 and 32.

Run: ``python benchmarks/grammar.py [--json] [--compare] [--vocab 32000] [--steps 48] [--threads 1]``.  Trains a
byte-level BPE tokenizer on the Python standard library's sources (a code vocabulary,
nothing downloaded), then times the engine's ``sample`` for a batch whose rows all
follow a JSON schema, half of them, or none, and reports the extra milliseconds per
step and per constrained token.  With ``--compare``, also the bare mask computation of
llguidance against xgrammar (when installed), the measurement the library was chosen by.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sysconfig
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from toolsmith.core.engine.grammar import GrammarCompiler
from toolsmith.core.engine.sampler import SequenceSampler, sample
from toolsmith.core.inference.sampling import Constraint, SamplingParams

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "kind": {"enum": ["file", "dir", "link"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "size", "kind", "tags"],
    "additionalProperties": False,
}
EOS = "<|im_end|>"
WARMUP = 4


def code_tokenizer(vocab: int) -> Tokenizer:
    files = sorted(str(p) for p in Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))[:1500]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=["<|endoftext|>", "<|im_start|>", EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(_texts(files), trainer)
    return tokenizer


def _texts(files: list[str]):
    for name in files:
        try:
            yield Path(name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue


def time_steps(compiler: GrammarCompiler, batch: int, constrained: int, steps: int, vocab: int) -> float:
    """Median seconds per `sample` call over `steps` decode steps (the median: the machine may be shared);
    constrained rows restart their grammar when it ends."""
    params = SamplingParams(temperature=1.0)
    constraint = Constraint(json_schema=SCHEMA)

    def row(i: int) -> SequenceSampler:
        grammar = compiler.matcher(constraint) if i < constrained else None
        return SequenceSampler(params, [1, 2, 3], {2}, grammar)

    samplers = [row(i) for i in range(batch)]
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(steps + WARMUP):
        logits = torch.randn(batch, vocab, generator=generator)
        start = time.perf_counter()
        results = sample(logits, samplers)
        for s, r in zip(samplers, results):
            s.append(r.token_id)
        if step >= WARMUP:
            times.append(time.perf_counter() - start)
        samplers = [row(i) if s.grammar is not None and s.grammar.done else s for i, s in enumerate(samplers)]
    return statistics.median(times)


def compare_libraries(tokenizer_json: str, eos: int, vocab: int, batch: int, steps: int) -> dict:
    """Mask computation alone (ms per step, all rows) for each library installed, along the same random walk."""
    import llguidance
    import numpy as np

    rng = np.random.default_rng(0)
    words = (vocab + 31) // 32

    def pick(bits: np.ndarray) -> list[int]:
        allowed = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")[:, :vocab]
        return [int(rng.choice(np.flatnonzero(row))) for row in allowed]

    def walk(fill, consume, reset) -> float:
        bits = np.zeros((batch, words), dtype=np.int32)
        total = 0.0
        for _ in range(steps):
            start = time.perf_counter()
            fill(bits)
            total += time.perf_counter() - start
            for i, token in enumerate(pick(bits)):
                if not consume(i, token):
                    reset(i)
        return 1000 * total / steps

    out = {}
    tok = llguidance.LLTokenizer(tokenizer_json, n_vocab=vocab, eos_token=eos)
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(SCHEMA), overrides={"whitespace_flexible": False})
    matchers = [llguidance.LLMatcher(tok, grammar) for _ in range(batch)]
    executor = llguidance.LLExecutor()

    def ll_fill(bits):
        executor.unsafe_compute_mask_ptr([(m, i) for i, m in enumerate(matchers)], bits.ctypes.data, words * 4, batch)

    def ll_consume(i, token):
        return matchers[i].consume_token(token) and not matchers[i].is_stopped()

    def ll_reset(i):
        matchers[i] = llguidance.LLMatcher(tok, grammar)

    out["llguidance_mask_ms"] = walk(ll_fill, ll_consume, ll_reset)
    try:
        import xgrammar as xgr
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        return out
    hf = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(tokenizer_json), eos_token=EOS)
    info = xgr.TokenizerInfo.from_huggingface(hf, vocab_size=vocab, stop_token_ids=[eos])
    compiled = xgr.GrammarCompiler(info).compile_json_schema(json.dumps(SCHEMA), any_whitespace=False)
    xmatchers = [xgr.GrammarMatcher(compiled) for _ in range(batch)]
    bitmask = xgr.allocate_token_bitmask(batch, vocab)

    def xg_fill(bits):
        for i, m in enumerate(xmatchers):
            m.fill_next_token_bitmask(bitmask, i)
        bits[:] = bitmask.numpy()

    def xg_consume(i, token):
        return xmatchers[i].accept_token(token) and not xmatchers[i].is_terminated()

    def xg_reset(i):
        xmatchers[i] = xgr.GrammarMatcher(compiled)

    out["xgrammar_mask_ms"] = walk(xg_fill, xg_consume, xg_reset)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--compare", action="store_true", help="also time llguidance against xgrammar")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = code_tokenizer(args.vocab)
    eos = tokenizer.token_to_id(EOS)
    compiler = GrammarCompiler(tokenizer.to_str(), args.vocab, {eos})
    compiler.matcher(Constraint(json_object=True))  # build llguidance's tokenizer before timing
    results = {"vocab": args.vocab, "steps": args.steps, "threads": torch.get_num_threads(), "batches": {}}
    for batch in (1, 32):
        free = time_steps(compiler, batch, 0, args.steps, args.vocab)
        half = time_steps(compiler, batch, batch // 2, args.steps, args.vocab) if batch > 1 else None
        full = time_steps(compiler, batch, batch, args.steps, args.vocab)
        entry = {
            "free_ms_per_step": 1000 * free,
            "constrained_ms_per_step": 1000 * full,
            "extra_ms_per_constrained_token": 1000 * (full - free) / batch,
            "ratio": full / free,
        }
        if half is not None:
            entry["half_constrained_ms_per_step"] = 1000 * half
        if args.compare:
            entry.update(compare_libraries(tokenizer.to_str(), eos, args.vocab, batch, args.steps))
        results["batches"][batch] = entry
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"vocab {args.vocab}, {args.steps} steps, {results['threads']} torch threads")
    for batch, e in results["batches"].items():
        line = (
            f"batch {batch:>2}: free {e['free_ms_per_step']:.2f} ms/step, all constrained {e['constrained_ms_per_step']:.2f} ms/step "
            f"(x{e['ratio']:.2f}; +{e['extra_ms_per_constrained_token']:.3f} ms per constrained token)"
        )
        if "half_constrained_ms_per_step" in e:
            line += f", half constrained {e['half_constrained_ms_per_step']:.2f} ms/step"
        for lib in ("llguidance_mask_ms", "xgrammar_mask_ms"):
            if lib in e:
                line += f"; {lib.split('_')[0]} mask {e[lib]:.3f} ms"
        print(line)


if __name__ == "__main__":
    main()

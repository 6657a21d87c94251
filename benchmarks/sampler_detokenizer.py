"""Time the engine's sampler and incremental detokenizer on this machine.

Run: ``python benchmarks/sampler_detokenizer.py [--json] [--threads N]``.  Prints the wall-clock and CPU
time per ``sample`` call for batch sizes and sampling settings at a real vocabulary size
(Qwen2's 151,936), and detokenizer throughput against re-decoding the whole output after
every token.  Numbers are only comparable on the same, otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))
from toolsmith.core.engine.detokenizer import IncrementalDetokenizer  # noqa: E402
from toolsmith.core.engine.sampler import SequenceSampler, sample  # noqa: E402
from toolsmith.core.engine.tokenizer import Tokenizer  # noqa: E402
from toolsmith.core.inference.sampling import SamplingParams  # noqa: E402

from fixtures import write_tokenizer  # noqa: E402  (the tests' offline tokenizer builder)

VOCAB = 151_936
SETTINGS = {
    "greedy": dict(temperature=0.0),
    "seeded": dict(seed=1),
    "top_k_top_p": dict(seed=1, top_k=50, top_p=0.9),
    "top_p": dict(seed=1, top_p=0.95),
    "top_p_flat": dict(seed=1, top_p=0.95),  # nucleus wider than the candidate window: full sort
    "penalties": dict(seed=1, repetition_penalty=1.1, presence_penalty=0.5, frequency_penalty=0.5),
    "logprobs_5": dict(seed=1, logprobs=5),
}
TEXT = "Rename every photo by its date. Crème brûlée, naïve façade; 你好，世界！Emoji 🙂🎉 👍🏽 "


def time_per_call(fn, repeats: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per call."""
    fn()  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def model_like_logits(batch: int, flat: bool) -> torch.Tensor:
    """Zipf-shaped logits in shuffled token order, like a model's next-token distribution.

    With exponent 1.5 the 0.95 nucleus has a few hundred tokens; ``flat`` uses 1.0, whose
    nucleus spans tens of thousands (a high-temperature or uncertain step).
    """
    exponent = 1.0 if flat else 1.5
    by_rank = -exponent * torch.arange(1, VOCAB + 1, dtype=torch.float32).log()
    orders = [torch.randperm(VOCAB, generator=torch.Generator().manual_seed(i)) for i in range(batch)]
    return torch.stack([by_rank[order] for order in orders])


def bench_sampler(batch: int, setting: str) -> tuple[float, float]:
    logits = model_like_logits(batch, flat=setting.endswith("_flat"))
    samplers = [SequenceSampler(SamplingParams(**SETTINGS[setting]), list(range(200)), {2}) for _ in range(batch)]
    for s in samplers:
        for token in range(100):
            s.append(token)
    return time_per_call(lambda: sample(logits, samplers), repeats=20)


def bench_detokenizer(tokenizer: Tokenizer, ids: list[int]) -> dict[str, float]:
    def incremental():
        detok = IncrementalDetokenizer(tokenizer, ["never appears"])
        for token in ids:
            detok.push(token)
        detok.flush()

    def redecode_all():
        for i in range(1, len(ids) + 1):
            tokenizer.decode(ids[:i])

    return {
        "incremental_tokens_per_s": len(ids) / time_per_call(incremental, repeats=3)[0],
        "redecode_all_tokens_per_s": len(ids) / time_per_call(redecode_all, repeats=3)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results: dict = {"vocab": VOCAB, "threads": torch.get_num_threads(), "sample_ms": {}}
    for setting in SETTINGS:
        for batch in (1, 8, 32):
            wall, cpu = bench_sampler(batch, setting)
            results["sample_ms"][f"{setting}/batch{batch}"] = {"wall": 1000 * wall, "cpu": 1000 * cpu}
    with tempfile.TemporaryDirectory() as folder:
        write_tokenizer(Path(folder))
        tokenizer = Tokenizer.from_folder(Path(folder))
        ids = tokenizer.encode(TEXT * 40, add_special_tokens=False)
        results["detokenizer"] = {"tokens": len(ids), **bench_detokenizer(tokenizer, ids)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"sample() at vocab {VOCAB}, {results['threads']} threads (ms per call, wall / CPU):")
    for key, ms in results["sample_ms"].items():
        print(f"  {key:<24} {ms['wall']:8.2f} / {ms['cpu']:8.2f}")
    d = results["detokenizer"]
    print(f"detokenizer over {d['tokens']} tokens (tokens/s):")
    print(f"  incremental   {d['incremental_tokens_per_s']:12.0f}")
    print(f"  re-decode all {d['redecode_all_tokens_per_s']:12.0f}")


if __name__ == "__main__":
    main()

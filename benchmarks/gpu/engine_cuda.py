"""Native engine vs Hugging Face transformers on a CUDA GPU, in bfloat16 and float16.

Two random-weight models (nothing is downloaded): the SmolLM2-135M shape the CPU benchmark
uses (benchmarks/engine.py) and a Llama-3.2-1B-like shape (hidden 2048, 16 layers, 32 heads,
8 KV heads, vocabulary 32000). For each model and dtype, in the same run on the same weights:

  * batch-1 decode tokens/s, ours vs HF `generate` (128-token prompt, 128 new tokens; the two
    alternate, best of 2, after a warm-up);
  * batched throughput: 64 requests (prompts 128-512 tokens, outputs 64-128) all submitted at
    once to our engine (continuous batching) vs HF `generate` over static left-padded batches
    in submission order; only the tokens each request asked for count, for both.

    python benchmarks/gpu/engine_cuda.py [--json] [--out FILE]          # CUDA, under 2.5 minutes on an H100
    python benchmarks/gpu/engine_cuda.py --device cpu --quick --json    # tiny shapes: checks the script end to end

With --json, stdout carries one JSON object (progress goes to stderr); --out FILE also
rewrites the report after every section, so a run cut short still leaves what it measured.
Each section is guarded: an error is recorded under "errors" and the next section runs.
--budget-s skips the sections that would start after that many seconds.
"""

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "engine"))

import torch  # noqa: E402
from fixtures import SMOLLM2_135M  # noqa: E402
from fixtures import write_tokenizer  # noqa: E402  (the tests' offline tokenizer builder)

from toolsmith.core.engine import LLMEngine, SamplingParams  # noqa: E402

PROMPT_VOCAB = 512  # prompts use the tokenizer's ids; the models' vocabularies are larger

LLAMA_1B = dict(
    hidden_size=2048,
    intermediate_size=8192,
    num_hidden_layers=16,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=32000,
    tie_word_embeddings=True,
    rope_theta=500000.0,
    max_position_embeddings=4096,
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=0,
)

TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=PROMPT_VOCAB,
    tie_word_embeddings=True,
    max_position_embeddings=2048,
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=0,
)

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}

FULL = dict(
    models={"smollm2-135m": SMOLLM2_135M, "llama-1b": LLAMA_1B},
    prompt=128, new_tokens=128, repeats=2,
    requests=64, prompt_range=(128, 512), output_range=(64, 128), hf_batch=32,
)
QUICK = dict(
    models={"tiny": TINY},
    prompt=32, new_tokens=16, repeats=2,
    requests=8, prompt_range=(16, 64), output_range=(8, 16), hf_batch=4,
)


class Bench:
    def __init__(self, device: str, out: Path | None, log):
        self.device = torch.device(device)
        self.out = out
        self.log = log

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def save(self, report: dict) -> None:
        if self.out is not None:
            tmp = self.out.with_name(self.out.name + ".tmp")
            tmp.write_text(json.dumps(report, indent=2))
            tmp.replace(self.out)


# -- models ---------------------------------------------------------------------------------


def build_model(folder: Path, shape: dict, device: torch.device):
    """Random weights, initialised on the device (fast for 1B parameters), saved in bfloat16."""
    from transformers import LlamaConfig, LlamaForCausalLM

    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Writing model shards" bars would fill the log
    except Exception:
        pass
    torch.manual_seed(0)
    config = LlamaConfig(**shape)
    try:
        with device:
            model = LlamaForCausalLM(config)
    except Exception:  # an older transformers that does not build under a device context
        model = LlamaForCausalLM(config).to(device)
    model = model.to(torch.bfloat16).eval()
    model.save_pretrained(folder, safe_serialization=True)
    write_tokenizer(folder, vocab_size=PROMPT_VOCAB)
    return model


# -- batch-1 decode ---------------------------------------------------------------------------


class Clock:
    """A transformers streamer that timestamps every generated token (after a device sync)."""

    def __init__(self, bench: Bench):
        self.bench, self.times, self.calls = bench, [], 0

    def put(self, value):
        self.calls += 1
        if self.calls > 1:  # the first put() is the prompt
            self.bench.sync()
            self.times.append(time.perf_counter())

    def end(self):
        pass


def hf_decode(bench: Bench, model, prompt: list[int], new_tokens: int) -> tuple[float, list[int]]:
    clock = Clock(bench)
    dev = model.device
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([prompt], device=dev),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=dev),
            do_sample=False,
            max_new_tokens=new_tokens,
            pad_token_id=0,
            streamer=clock,
        )
    tokens = out[0, len(prompt) :].tolist()
    return (len(clock.times) - 1) / (clock.times[-1] - clock.times[0]), tokens


def ours_decode(bench: Bench, engine: LLMEngine, prompt: list[int], new_tokens: int) -> tuple[float, list[int]]:
    engine.add_request(prompt, SamplingParams(temperature=0, max_tokens=new_tokens, ignore_eos=True))
    times, tokens = [], []
    while engine.has_unfinished():
        outs = engine.step()
        if outs:
            bench.sync()
            times.append(time.perf_counter())
            tokens = outs[-1].token_ids
    return (len(times) - 1) / (times[-1] - times[0]), list(tokens)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def batch1(bench: Bench, engine: LLMEngine, hf, cfg: dict, rng: random.Random) -> dict:
    prompt = [rng.randrange(PROMPT_VOCAB) for _ in range(cfg["prompt"])]
    ours_decode(bench, engine, prompt[:16], 4)  # warm-up: first CUDA calls, kernel selection
    hf_decode(bench, hf, prompt[:16], 4)
    ours = theirs = 0.0
    for _ in range(cfg["repeats"]):  # alternate, best of each
        o, ours_tokens = ours_decode(bench, engine, prompt, cfg["new_tokens"])
        t, hf_tokens = hf_decode(bench, hf, prompt, cfg["new_tokens"])
        ours, theirs = max(ours, o), max(theirs, t)
    return {
        "batch1_tok_s": ours,
        "batch1_hf_tok_s": theirs,
        "batch1_ratio_vs_hf": ours / theirs,
        "batch1_ms_per_token": 1000 / ours,
        "batch1_hf_ms_per_token": 1000 / theirs,
        # informative only: random weights in 16-bit make near-ties, so greedy paths may part
        "batch1_greedy_common_prefix": common_prefix(ours_tokens, hf_tokens),
        "batch1_hf_generated": len(hf_tokens),
    }


# -- batched throughput ----------------------------------------------------------------------


def workload(cfg: dict, seed: int = 0) -> list[tuple[list[int], int]]:
    rng = random.Random(seed)
    lo, hi = cfg["prompt_range"]
    out_lo, out_hi = cfg["output_range"]
    return [
        ([rng.randrange(PROMPT_VOCAB) for _ in range(rng.randint(lo, hi))], rng.randint(out_lo, out_hi))
        for _ in range(cfg["requests"])
    ]


def ours_batched(bench: Bench, engine: LLMEngine, requests) -> dict:
    ours_decode(bench, engine, requests[0][0][:32], 4)  # warm-up
    bench.sync()
    start = time.perf_counter()
    for i, (prompt, max_tokens) in enumerate(requests):
        engine.add_request(prompt, SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True), f"b{i}")
    generated, steps, first = 0, 0, {}
    while engine.has_unfinished():
        for out in engine.step():
            first.setdefault(out.request_id, time.perf_counter())
            if out.finished:
                generated += len(out.token_ids)
        steps += 1
    bench.sync()
    elapsed = time.perf_counter() - start
    ttft = sorted(t - start for t in first.values())
    return {
        "tok_s": generated / elapsed,
        "seconds": elapsed,
        "generated": generated,
        "steps": steps,
        "preemptions": engine.metrics().num_preemptions,
        "ttft_median_s": ttft[len(ttft) // 2],
        "ttft_max_s": ttft[-1],
    }


def hf_batched(bench: Bench, model, requests, batch_size: int) -> dict:
    """Static batches in submission order, left-padded; each batch runs to its longest output."""
    dev = model.device
    warm = requests[0][0][:32]
    with torch.inference_mode():
        model.generate(torch.tensor([warm], device=dev), do_sample=False, max_new_tokens=4, pad_token_id=0)
    bench.sync()
    elapsed, generated, padded = 0.0, 0, 0
    for i in range(0, len(requests), batch_size):
        batch = requests[i : i + batch_size]
        width = max(len(p) for p, _ in batch)
        ids = torch.tensor([[0] * (width - len(p)) + p for p, _ in batch], device=dev)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p, _ in batch], device=dev)
        new = max(m for _, m in batch)
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=new, pad_token_id=0)
        bench.sync()
        elapsed += time.perf_counter() - t
        generated += sum(m for _, m in batch)  # only the tokens each request asked for count
        padded += (out.shape[1] - width) * len(batch)
    return {"tok_s": generated / elapsed, "seconds": elapsed, "generated": generated, "generated_with_padding": padded}


def batched(bench: Bench, folder: Path, name: str, hf, cfg: dict, max_batched_tokens: int) -> dict:
    requests = workload(cfg)
    block = 16
    kv_tokens = sum(len(p) + m + block for p, m in requests)  # room for every request at once: no preemption
    engine = LLMEngine(
        folder, dtype=name, device=str(bench.device), block_size=block, max_num_seqs=len(requests),
        max_num_batched_tokens=max_batched_tokens, kv_cache_tokens=kv_tokens,
    )
    try:
        ours = ours_batched(bench, engine, requests)
    finally:
        del engine
        free_memory()
    theirs = hf_batched(bench, hf, requests, cfg["hf_batch"])
    return {
        "batched_requests": len(requests),
        "batched_prompt_tokens": sum(len(p) for p, _ in requests),
        "batched_tok_s": ours["tok_s"],
        "batched_hf_static_tok_s": theirs["tok_s"],
        "batched_ratio_vs_hf_static": ours["tok_s"] / theirs["tok_s"],
        "batched_seconds": ours["seconds"],
        "batched_hf_seconds": theirs["seconds"],
        "batched_steps": ours["steps"],
        "batched_preemptions": ours["preemptions"],
        "batched_ttft_median_s": ours["ttft_median_s"],
        "batched_ttft_max_s": ours["ttft_max_s"],
        "batched_hf_batch_size": cfg["hf_batch"],
        "batched_hf_generated_with_padding": theirs["generated_with_padding"],
    }


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# -- the run ----------------------------------------------------------------------------------


def short_error(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)[-3:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(e).__name__}: {e} [{where}]"[:1500]


def run(args, log) -> dict:
    import transformers

    cfg = QUICK if args.quick else FULL
    bench = Bench(args.device, Path(args.out) if args.out else None, log)
    if bench.device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device (torch.cuda.is_available() is False); try --device cpu --quick")
    if bench.device.type == "cpu":
        torch.set_num_threads(args.threads)
    models = {k: v for k, v in cfg["models"].items() if not args.models or k in args.models.split(",")}
    dtypes = args.dtypes.split(",")
    report = {
        "device": torch.cuda.get_device_name(bench.device) if bench.device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "quick": args.quick,
        "workload": {k: v for k, v in cfg.items() if k != "models"} | {"max_num_batched_tokens": args.max_batched_tokens},
        "models": {k: {kk: v[kk] for kk in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size")} for k, v in models.items()},
        "results": {},
        "summary": {},
        "errors": [],
        "skipped": [],
    }
    log(f"device {report['device']}, torch {report['torch']} (CUDA {report['cuda']}), transformers {report['transformers']}")
    started = time.perf_counter()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        hf_models, folders = {}, {}
        for model_name, shape in models.items():
            try:
                t = time.perf_counter()
                folders[model_name] = Path(tmp) / model_name
                hf_models[model_name] = build_model(folders[model_name], shape, bench.device)
                params = sum(p.numel() for p in hf_models[model_name].parameters())
                report["models"][model_name]["parameters"] = params
                report["models"][model_name]["hf_attn_implementation"] = getattr(hf_models[model_name].config, "_attn_implementation", None)
                log(f"[{model_name}] built {params / 1e6:.0f}M parameters in {time.perf_counter() - t:.1f} s")
            except Exception as e:
                report["errors"].append(f"{model_name} build: {short_error(e)}")
                log(f"[{model_name}] build FAILED: {short_error(e)}")
        bench.save(report)
        for dtype_name in dtypes:
            for model_name, hf in hf_models.items():
                key = f"{model_name}/{dtype_name}"
                if time.perf_counter() - started > args.budget_s:
                    report["skipped"].append(f"{key}: over the {args.budget_s:.0f} s budget")
                    log(f"[{key}] skipped: over the {args.budget_s:.0f} s budget")
                    continue
                section(bench, report, key, folders[model_name], dtype_name, hf.to(DTYPES[dtype_name]), cfg, rng, args, log)
                bench.save(report)
    report["seconds"] = time.perf_counter() - started
    if bench.device.type == "cuda":
        report["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated(bench.device) / 2**30
    for key in ("batch1_ratio_vs_hf", "batched_ratio_vs_hf_static"):
        values = [r[key] for r in report["results"].values() if key in r]
        if values:
            report[f"worst_{key}"] = min(values)
    bench.save(report)
    return report


def section(bench, report, key, folder, dtype_name, hf, cfg, rng, args, log) -> None:
    r = report["results"].setdefault(key, {})
    t = time.perf_counter()
    try:
        engine = LLMEngine(folder, dtype=dtype_name, device=str(bench.device), max_num_seqs=8)
        r["load_s"] = time.perf_counter() - t
        try:
            r |= batch1(bench, engine, hf, cfg, rng)
            log(
                f"[{key}] batch-1 decode: ours {r['batch1_tok_s']:.1f} tok/s ({r['batch1_ms_per_token']:.2f} ms), "
                f"HF {r['batch1_hf_tok_s']:.1f} tok/s ({r['batch1_hf_ms_per_token']:.2f} ms): {r['batch1_ratio_vs_hf']:.2f}x; "
                f"greedy paths agree for {r['batch1_greedy_common_prefix']} tokens"
            )
        finally:
            del engine
            free_memory()
    except Exception as e:
        report["errors"].append(f"{key} batch-1: {short_error(e)}")
        log(f"[{key}] batch-1 FAILED: {short_error(e)}")
    bench.save(report)
    try:
        r |= batched(bench, folder, dtype_name, hf, cfg, args.max_batched_tokens)
        log(
            f"[{key}] batched, {r['batched_requests']} requests at once: ours {r['batched_tok_s']:.0f} tok/s "
            f"({r['batched_seconds']:.2f} s, {r['batched_steps']} steps, {r['batched_preemptions']} preemptions), "
            f"HF static batches of {r['batched_hf_batch_size']} {r['batched_hf_static_tok_s']:.0f} tok/s "
            f"({r['batched_hf_seconds']:.2f} s): {r['batched_ratio_vs_hf_static']:.2f}x"
        )
    except Exception as e:
        report["errors"].append(f"{key} batched: {short_error(e)}")
        log(f"[{key}] batched FAILED: {short_error(e)}")
    free_memory()
    r["section_s"] = time.perf_counter() - t
    report["summary"][key] = {k: r[k] for k in ("batch1_ratio_vs_hf", "batched_ratio_vs_hf_static") if k in r}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout; progress lines go to stderr")
    parser.add_argument("--out", help="also write the report here, rewritten after every section")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--quick", action="store_true", help="a tiny model and a small workload: checks the script, measures nothing")
    parser.add_argument("--dtypes", default="bfloat16,float16")
    parser.add_argument("--models", default="", help="comma-separated subset of: smollm2-135m, llama-1b (tiny with --quick)")
    parser.add_argument("--max-batched-tokens", type=int, default=2048, help="our engine's token budget per step in the batched run")
    parser.add_argument("--budget-s", type=float, default=140.0, help="start no section after this many seconds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads with --device cpu")
    args = parser.parse_args()
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout carries only the JSON object
    log = lambda line: print(line, file=out, flush=True)  # noqa: E731
    report = run(args, log)
    log(f"done in {report['seconds']:.0f} s; {len(report['errors'])} errors, {len(report['skipped'])} skipped")
    if args.json:
        print(json.dumps(report, indent=2))
    sys.exit(1 if report["errors"] else 0)


if __name__ == "__main__":
    main()

"""EXL2 on the native engine, on a SmolLM2-135M-shaped random model (CPU).

Same weights throughout: the model is saved in fp16, then quantized with our RTN
writer (`toolsmith models quantize`) to 3, 4 and 6 bits per weight.

  * load time and peak RSS (VmHWM) of the fp16 folder vs the 4.0 bpw folder, with
    the two EXL2 strategies: dequantize at load, and packed (dequantize each layer
    on every forward). Each load runs in a fresh subprocess so the peaks are independent;
    the RSS of a process that only imported torch is reported for reference;
  * batch-1 decode tokens/s in bfloat16, measured in the same subprocesses;
  * agreement with the unquantized model: mean KL(fp16 || EXL2) of next-token
    distributions and top-1 agreement over random prompts, fp32 compute, for 3, 4, 6 bpw.

    python benchmarks/exl2.py [--json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

import torch  # noqa: E402

from toolsmith.core.engine import LLMEngine, SamplingParams  # noqa: E402

BITS = (3.0, 4.0, 6.0)
PROMPT_VOCAB = 512


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(folder: str, mode: str, new_tokens: int) -> dict:
    """Run in a fresh process: load, then decode; report times and this process's peak RSS."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    before = peak_rss_mib()
    start = time.perf_counter()
    engine = LLMEngine(folder, dtype="bfloat16", exl2_weights=mode, kv_cache_tokens=1024)
    load_s = time.perf_counter() - start
    load_rss = peak_rss_mib()
    prompt = [i % PROMPT_VOCAB for i in range(64)]
    best = 0.0
    for _ in range(2):
        engine.add_request(prompt, SamplingParams(temperature=0, max_tokens=new_tokens, ignore_eos=True))
        times = []
        while engine.has_unfinished():
            if engine.step():
                times.append(time.perf_counter())
        best = max(best, (len(times) - 1) / (times[-1] - times[0]))
    return {"load_s": load_s, "rss_after_import_mib": before, "peak_rss_load_mib": load_rss, "decode_tok_s": best}


def run_child(folder: Path, mode: str, new_tokens: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), mode, str(new_tokens)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def build_fp16(folder: Path) -> None:
    from fixtures import SMOLLM2_135M as SMOLLM2, write_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2)).eval()
    model.half().save_pretrained(folder, safe_serialization=True)
    write_tokenizer(folder, vocab_size=PROMPT_VOCAB)


def next_token_logprobs(folder: Path, prompts: list[list[int]]) -> torch.Tensor:
    """Log-softmax of the logits at every prompt position, fp32 compute."""
    from test_model_logits import engine_logits

    engine = LLMEngine(folder, dtype="float32", kv_cache_tokens=256)
    return torch.cat([engine_logits(engine, p, len(p)) for p in prompts]).log_softmax(-1)


def agreement(reference: torch.Tensor, quantized: torch.Tensor) -> dict:
    kl = (reference.exp() * (reference - quantized)).sum(-1)
    return {"mean_kl": kl.mean().item(), "top1_agreement": (reference.argmax(-1) == quantized.argmax(-1)).float().mean().item()}


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.safetensors")) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    from toolsmith.core.engine.exl2_writer import quantize_model

    report = {"load_average": os.getloadavg()[0], "threads": max(1, (os.cpu_count() or 2) - 1)}
    with tempfile.TemporaryDirectory() as tmp:
        fp16 = Path(tmp) / "fp16"
        build_fp16(fp16)
        report["fp16_mib"] = folder_mib(fp16)
        folders = {}
        for bits in BITS:
            folders[bits] = Path(tmp) / f"exl2-{bits}"
            summary = quantize_model(fp16, folders[bits], bits=bits, head_bits=6)
            report[f"quantize_{bits}"] = {"seconds": summary["seconds"], "bits_per_weight": summary["bits_per_weight"], "mib": folder_mib(folders[bits])}
            say(f"quantized to {bits} bpw in {summary['seconds']:.1f} s: {summary['bits_per_weight']:.2f} bpw with scales, {folder_mib(folders[bits]):.0f} MiB (fp16: {report['fp16_mib']:.0f} MiB)")
        runs = {"fp16": (fp16, "dequantize", 32), "exl2-4.0 dequantize": (folders[4.0], "dequantize", 32), "exl2-4.0 packed": (folders[4.0], "packed", 6)}
        for name, (folder, mode, tokens) in runs.items():
            report[name] = run_child(folder, mode, tokens)
            r = report[name]
            say(
                f"{name:22s} load {r['load_s']:6.2f} s  peak RSS {r['peak_rss_load_mib']:6.0f} MiB "
                f"(torch alone {r['rss_after_import_mib']:.0f})  decode {r['decode_tok_s']:6.2f} tok/s (bf16)"
            )
        gen = torch.Generator().manual_seed(0)
        prompts = [torch.randint(0, PROMPT_VOCAB, (48,), generator=gen).tolist() for _ in range(4)]
        reference = next_token_logprobs(fp16, prompts)
        for bits in BITS:
            report[f"agreement_{bits}"] = agreement(reference, next_token_logprobs(folders[bits], prompts))
            a = report[f"agreement_{bits}"]
            say(f"{bits} bpw vs fp16: mean KL {a['mean_kl']:.2e}, top-1 agreement {a['top1_agreement']:.1%} ({len(reference)} positions)")
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        main()

"""EXL2 on a CUDA GPU: our writer's folders load in exllamav2, whose weights and logits match ours,
and decode speed of the native engine vs the exllamav2 backend on the same model.

Run through check_exl2.sh (it sets up the JIT build of exllamav2's extension). Prints one
line per check and a JSON summary; exits 1 if a check fails.
"""

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "engine"))

import torch  # noqa: E402
from fixtures import SMOLLM2_135M as SMOLLM2  # noqa: E402
from fixtures import write_tokenizer  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from toolsmith.core.engine import LLMEngine, SamplingParams  # noqa: E402
from toolsmith.core.engine.exl2 import dequantize, read_linear  # noqa: E402
from toolsmith.core.engine.exl2_writer import quantize_model  # noqa: E402
from toolsmith.core.engine.model import expected_shapes  # noqa: E402
from toolsmith.core.engine.model_config import load_model_config  # noqa: E402

PROMPT = [(i * 37) % 512 for i in range(128)]
NEW_TOKENS = 128
failures = []


def check(name: str, ok: bool, detail: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        failures.append(name)


def build(folder: Path) -> Path:
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2)).eval()
    model.half().save_pretrained(folder / "fp16", safe_serialization=True)
    write_tokenizer(folder / "fp16", vocab_size=512)
    t = time.perf_counter()
    summary = quantize_model(folder / "fp16", folder / "exl2", bits=4.0, head_bits=6)
    print(f"our writer: {summary['bits_per_weight']:.2f} bpw in {time.perf_counter() - t:.1f} s", flush=True)
    return folder / "exl2"


def load_exllamav2(folder: Path):
    t = time.perf_counter()
    from exllamav2 import ExLlamaV2, ExLlamaV2Config  # compiles the CUDA extension on first import

    print(f"import exllamav2 (JIT build or cached): {time.perf_counter() - t:.1f} s", flush=True)
    config = ExLlamaV2Config(str(folder))
    config.arch_compat_overrides(quiet=True)
    model = ExLlamaV2(config)
    model.load(progress=False)
    return model


def compare_weights(model, folder: Path) -> None:
    """exllamav2's reconstructed fp16 weight of every layer against our dequantize(), bit for bit."""
    from safetensors import safe_open

    config = load_model_config(folder)
    shapes = expected_shapes(config)
    worst, layers = 0.0, 0
    with safe_open(str(folder / "output.safetensors"), framework="pt") as f:
        prefixes = sorted({k.rsplit(".", 1)[0] for k in f.keys() if k.endswith(".q_weight")})
        for prefix in prefixes:
            parts = {k.rsplit(".", 1)[1]: f.get_tensor(k) for k in f.keys() if k.rsplit(".", 1)[0] == prefix}
            out_features, in_features = shapes[prefix + ".weight"]
            ours = dequantize(read_linear(prefix, parts, in_features, out_features).to("cuda"), torch.float16)
            theirs = model.modules_dict[prefix].get_weight_tensor_dq()[:, :out_features].t()
            worst = max(worst, (ours.float() - theirs.float()).abs().max().item())
            layers += 1
    check("dequantized weights", worst == 0.0, f"{layers} layers, max |ours - exllamav2| = {worst:.3g} (expect 0: same fp16 chain)")


def compare_logits(model, folder: Path) -> None:
    from test_model_logits import engine_logits

    ids = torch.tensor([PROMPT[:64]])
    theirs = model.forward(ids).float()[0].cpu()
    engine = LLMEngine(folder, dtype="float16", device="cuda", kv_cache_tokens=1024)
    ours = engine_logits(engine, PROMPT[:64], 64).cpu()
    diff = (ours - theirs).abs().max().item()
    scale = theirs.abs().max().item()
    top1 = (ours.argmax(-1) == theirs.argmax(-1)).float().mean().item()
    check("logits", diff <= 2e-2 * max(scale, 1.0), f"max |ours - exllamav2| = {diff:.3g} (logit scale {scale:.3g}); top-1 agreement {top1:.1%}")
    del engine


def native_tok_s(folder: Path) -> float:
    engine = LLMEngine(folder, dtype="float16", device="cuda", kv_cache_tokens=4096)
    best = 0.0
    for _ in range(3):
        engine.add_request(PROMPT, SamplingParams(temperature=0, max_tokens=NEW_TOKENS, ignore_eos=True))
        times = []
        while engine.has_unfinished():
            if engine.step():
                torch.cuda.synchronize()
                times.append(time.perf_counter())
        best = max(best, (len(times) - 1) / (times[-1] - times[0]))
    return best


def exllamav2_tok_s(folder: Path) -> float:
    from toolsmith.core.engines import backends

    backend = backends()["exllamav2"]
    reason = backend.unavailable()
    check("exllamav2 backend available", reason is None, reason or "yes")
    engine = backend.create(model=str(folder), max_seq_len=4096)
    params = SamplingParams(temperature=0, max_tokens=NEW_TOKENS, ignore_eos=True)

    async def once() -> float:
        times = []
        async for out in engine.generate(PROMPT, params):
            times.append((time.perf_counter(), len(out.token_ids)))
        (t0, n0), (t1, n1) = times[0], times[-1]
        check("exllamav2 stream", n1 == NEW_TOKENS and out.finish_reason == "length", f"{n1} tokens, {out.finish_reason}")
        return (n1 - n0) / (t1 - t0)

    try:
        return max(asyncio.run(once()) for _ in range(3))
    finally:
        engine.shutdown()


def main() -> None:
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this check needs one")
    report = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    print(f"device: {report['device']}, torch {report['torch']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build(Path(tmp))
        model = load_exllamav2(folder)
        compare_weights(model, folder)
        compare_logits(model, folder)
        model.unload()
        del model
        torch.cuda.empty_cache()
        report["native_tok_s"] = native_tok_s(folder)
        print(f"native engine (fp16, CUDA, EXL2 dequantized at load): {report['native_tok_s']:.1f} tok/s", flush=True)
        report["exllamav2_tok_s"] = exllamav2_tok_s(folder)
        print(f"exllamav2 backend (ExLlamaV2DynamicGenerator): {report['exllamav2_tok_s']:.1f} tok/s", flush=True)
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

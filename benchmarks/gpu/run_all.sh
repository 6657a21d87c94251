#!/usr/bin/env bash
# The one GPU run: engine tests on CUDA, the CUDA benchmark, the EXL2 check, each under its
# own timeout, the whole script done within DEADLINE_S (default 450 s). For a box with no
# internet: the wheels it lacks travel in .whl/ (git-ignored; see the report of the helper
# that prepared it) and are installed into /tmp/site, put first on PYTHONPATH.
#
#   OUT=/some/folder benchmarks/gpu/run_all.sh          # from the repository root
#
# Writes into $OUT (default /tmp/toolsmith-gpu-out):
#   run_all.log      this script's output: environment, stage timings, the summary at the end
#   engine_cuda.json benchmarks/gpu/engine_cuda.py's report (rewritten after every section)
#   engine_cuda.log  its progress lines (and the JSON again at the end)
#   tests.log        TOOLSMITH_TEST_DEVICE=cuda pytest tests/engine
#   exl2_build.log   the background JIT build of exllamav2's extension
#   exl2.log         benchmarks/gpu/check_exl2.sh
#
# Order: the benchmark runs first, on a quiet machine; then the exllamav2 extension builds in
# the background (nice 19, every core) while the tests run; then check_exl2.sh gets what is
# left (its import of exllamav2 waits for, and reuses, that build).
# Every stage is guarded: a failure or a timeout is reported and the next stage runs.
# Stage switches: SKIP_BENCH=1, SKIP_TESTS=1, SKIP_EXL2=1. For a dry run on a CPU machine:
#   WHEELS_DIR=... NO_PIP_EDITABLE=1 TEST_DEVICE=cpu BENCH_ARGS="--device cpu --quick" benchmarks/gpu/run_all.sh

cd "$(dirname "$0")/../.." || exit 1
REPO=$PWD
OUT=${OUT:-/tmp/toolsmith-gpu-out}
PY=${PYTHON:-python3}
SITE=${TOOLSMITH_SITE:-/tmp/site}
WHEELS_DIR=${WHEELS_DIR:-.whl}
TEST_DEVICE=${TEST_DEVICE:-cuda}
DEADLINE_S=${DEADLINE_S:-450}
BENCH_CAP_S=${BENCH_CAP_S:-170}
TESTS_CAP_S=${TESTS_CAP_S:-150}
RESERVE_S=15 # for the summary
NPROC=$(env -u OMP_NUM_THREADS nproc) # nproc alone honours OMP_NUM_THREADS
mkdir -p "$OUT" "$SITE"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"

STATUS=()
BUILD_PID=

left() { echo $((DEADLINE_S - SECONDS)); }

# stage NAME CAP_S LOG CMD...: run CMD under min(CAP_S, time left) with its output in LOG
stage() {
  local name=$1 cap=$2 log=$3
  shift 3
  local budget=$(($(left) - RESERVE_S))
  local t=$((cap < budget ? cap : budget))
  if ((t < 20)); then
    echo "[$name] SKIPPED: only $(left) s left"
    STATUS+=("$name: skipped, no time left")
    return
  fi
  echo "[$name] $(date +%T) start, timeout ${t} s -> $log"
  local start=$SECONDS rc
  timeout -k 10 "$t" "$@" >"$log" 2>&1
  rc=$?
  local what="rc=$rc"
  ((rc == 124 || rc == 137)) && what="TIMED OUT after ${t} s (rc=$rc)"
  echo "[$name] $(date +%T) $what in $((SECONDS - start)) s"
  STATUS+=("$name: $what in $((SECONDS - start)) s")
}

install_wheels() {
  echo "== wheels from $WHEELS_DIR/ into $SITE"
  if ! ls "$WHEELS_DIR"/*.whl >/dev/null 2>&1; then
    echo "no $WHEELS_DIR/*.whl here (was the run started with carry [\".whl\"]?)"
    return
  fi
  ls -1 "$WHEELS_DIR"
  if ! timeout 60 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS_DIR"/*.whl; then
    echo "pip install failed: unpacking the wheels with zipfile instead"
    "$PY" - "$SITE" "$WHEELS_DIR"/*.whl <<'EOF'
import sys, zipfile
site, wheels = sys.argv[1], sys.argv[2:]
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    print("unpacked", wheel)
EOF
  fi
}

# Exit 0 when toolsmith imports from this checkout (tried from /tmp, away from the repo root).
toolsmith_importable() {
  (cd /tmp && "$PY" - "$REPO" <<'EOF'
import os, sys
import toolsmith.core.engine.llm_engine, toolsmith.plugins.native_backend, toolsmith.core.inference.backends
where = os.path.realpath(toolsmith.core.inference.backends.__file__)
if not where.startswith(os.path.realpath(sys.argv[1]) + os.sep):
    sys.exit(f"toolsmith comes from {where}, not from this checkout")
print("toolsmith imports from", os.path.dirname(os.path.dirname(where)))
EOF
  )
}

install_toolsmith() {
  echo "== toolsmith from $REPO"
  toolsmith_importable 2>/dev/null && return
  if [ -z "${NO_PIP_EDITABLE:-}" ]; then
    echo "-- pip install -e . (no index, no build isolation)"
    timeout 45 "$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e . 2>&1 | tail -5
    toolsmith_importable && return
  fi
  echo "-- falling back to a symlink tree: $SITE/toolsmith/{core,plugins,sandbox} -> the checkout"
  mkdir -p "$SITE/toolsmith"
  for part in core plugins sandbox; do ln -sfn "$REPO/$part" "$SITE/toolsmith/$part"; done
  toolsmith_importable || echo "!! toolsmith is still not importable: the stages below will fail"
}

environment() {
  echo "== environment ($(date -u +%FT%TZ), $NPROC cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  nvidia-smi 2>&1 | head -20
  "$PY" - <<'EOF'
import importlib, importlib.util, sys
print("python", sys.version.split()[0], sys.executable)
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))
for name in ("transformers", "tokenizers", "safetensors", "numpy", "pytest", "pytest_timeout", "hypothesis",
             "msgspec", "platformdirs", "tomli_w", "tree_sitter", "tree_sitter_python", "tree_sitter_bash",
             "flash_attn", "ninja", "pandas", "setuptools"):
    try:
        module = importlib.import_module(name)
        print(f"  {name} {getattr(module, '__version__', '?')} {getattr(module, '__file__', '')}")
    except Exception as e:
        print(f"  {name}: {type(e).__name__}: {e}")
spec = importlib.util.find_spec("exllamav2")  # not imported: the first import JIT-builds its extension
print("  exllamav2", spec.origin if spec else "not found")
EOF
  df -h /tmp 2>/dev/null | tail -1
}

cuda_toolkit() {
  echo "== CUDA toolkit for the exllamav2 JIT build"
  if ! command -v nvcc >/dev/null; then
    for dir in /usr/local/cuda/bin /usr/local/cuda-*/bin /opt/cuda/bin; do
      if [ -x "$dir/nvcc" ]; then
        export PATH="$dir:$PATH"
        break
      fi
    done
  fi
  local ninja_bin
  ninja_bin=$("$PY" -c 'import ninja, os; print(getattr(ninja, "BIN_DIR", ""))' 2>/dev/null)
  [ -n "$ninja_bin" ] && export PATH="$PATH:$ninja_bin"
  export PATH="$PATH:$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")"
  if command -v nvcc >/dev/null; then
    export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")}
    echo "nvcc: $(command -v nvcc) ($(nvcc --version | tail -2 | head -1)); CUDA_HOME=$CUDA_HOME"
    HAVE_NVCC=1
  else
    echo "no nvcc on PATH or in /usr/local/cuda*: exllamav2 cannot JIT-build its extension here"
    HAVE_NVCC=
  fi
  echo "ninja: $(command -v ninja || echo missing) $(ninja --version 2>/dev/null); g++: $(g++ --version 2>/dev/null | head -1 || echo missing)"
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$("$PY" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability(0))' 2>/dev/null || echo 9.0)}
  export MAX_JOBS=${MAX_JOBS:-$NPROC}
  export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-$REPO/.cache/torch_extensions}
  echo "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST MAX_JOBS=$MAX_JOBS TORCH_EXTENSIONS_DIR=$TORCH_EXTENSIONS_DIR"
}

start_exl2_build() {
  if [ -n "${SKIP_EXL2:-}" ] || [ -z "$HAVE_NVCC" ]; then return; fi
  if ! "$PY" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("exllamav2") else 1)'; then
    echo "exllamav2 is not importable: no background build"
    return
  fi
  echo "[exl2-build] $(date +%T) background JIT build of exllamav2's extension (nice 19) -> $OUT/exl2_build.log"
  local own_group=setsid # its own process group, so that stopping it stops ninja and nvcc too
  command -v setsid >/dev/null || own_group=
  $own_group nice -n 19 "$PY" -c '
import time
t = time.time()
import exllamav2  # compiles the CUDA extension on first import
print(f"exllamav2 {exllamav2.__version__}: extension ready after {time.time() - t:.0f} s", flush=True)
' >"$OUT/exl2_build.log" 2>&1 </dev/null &
  BUILD_PID=$!
}

# Exit 0 unless the background build has already ended without the extension.
exl2_build_ok_so_far() {
  [ -z "$BUILD_PID" ] && return 0
  kill -0 "$BUILD_PID" 2>/dev/null && return 0 # still building: check_exl2's import waits for it
  wait "$BUILD_PID"
  local rc=$?
  ((rc == 0)) && return 0
  echo "[exl2-build] failed (rc=$rc); last lines of exl2_build.log:"
  tail -15 "$OUT/exl2_build.log"
  return 1
}

stop_exl2_build() {
  if [ -n "$BUILD_PID" ] && kill -0 "$BUILD_PID" 2>/dev/null; then
    echo "[exl2-build] still running at the end: stopping it"
    kill -TERM -- "-$BUILD_PID" 2>/dev/null || kill -TERM "$BUILD_PID" 2>/dev/null
    sleep 2
    kill -KILL -- "-$BUILD_PID" 2>/dev/null || kill -KILL "$BUILD_PID" 2>/dev/null
  fi
}

summary() {
  echo
  echo "================ summary ($(date +%T), ${SECONDS} s) ================"
  printf '%s\n' "${STATUS[@]}"
  if [ -f "$OUT/tests.log" ]; then
    echo "-- tests (tests.log):"
    grep -E '^(FAILED|ERROR) ' "$OUT/tests.log" | head -25
    tail -1 "$OUT/tests.log"
  fi
  if [ -f "$OUT/engine_cuda.json" ]; then
    echo "-- benchmark (engine_cuda.json):"
    "$PY" - "$OUT/engine_cuda.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r.get('device')} torch {r.get('torch')} transformers {r.get('transformers')}; {r.get('seconds', 0):.0f} s")
for key, x in r.get("results", {}).items():
    b1 = f"batch-1 ours {x['batch1_tok_s']:.0f} vs HF {x['batch1_hf_tok_s']:.0f} tok/s = {x['batch1_ratio_vs_hf']:.2f}x" if "batch1_tok_s" in x else "batch-1 -"
    bt = f"batched ours {x['batched_tok_s']:.0f} vs HF static {x['batched_hf_static_tok_s']:.0f} tok/s = {x['batched_ratio_vs_hf_static']:.2f}x" if "batched_tok_s" in x else "batched -"
    print(f"  {key:24} {b1}; {bt}")
for line in r.get("errors", []) + r.get("skipped", []):
    print("  !", line[:400])
EOF
  fi
  if [ -f "$OUT/exl2_build.log" ]; then
    echo "-- exllamav2 build (exl2_build.log, last lines):"
    tail -4 "$OUT/exl2_build.log"
  fi
  if [ -f "$OUT/exl2.log" ]; then
    echo "-- EXL2 check (exl2.log, last lines):"
    tail -25 "$OUT/exl2.log"
  fi
}

main() {
  echo "== run_all.sh in $REPO, OUT=$OUT, deadline ${DEADLINE_S} s"
  install_wheels
  install_toolsmith
  environment
  cuda_toolkit
  echo "== setup done after ${SECONDS} s"

  if [ -z "${SKIP_BENCH:-}" ]; then
    stage bench "$BENCH_CAP_S" "$OUT/engine_cuda.log" \
      "$PY" benchmarks/gpu/engine_cuda.py --json --out "$OUT/engine_cuda.json" --budget-s $((BENCH_CAP_S - 40)) ${BENCH_ARGS:-}
  fi

  start_exl2_build

  if [ -z "${SKIP_TESTS:-}" ]; then
    local timeout_opts=()
    "$PY" -c 'import pytest_timeout' 2>/dev/null && timeout_opts=(-p pytest_timeout --timeout 120)
    stage tests "$TESTS_CAP_S" "$OUT/tests.log" \
      env TOOLSMITH_TEST_DEVICE="$TEST_DEVICE" PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 \
      "$PY" -m pytest tests/engine -p no:cacheprovider "${timeout_opts[@]}" --maxfail=15 --durations=10 \
      --ignore=tests/engine/test_forge_native.py
  fi

  if [ -z "${SKIP_EXL2:-}" ]; then
    if [ -z "$HAVE_NVCC" ]; then
      echo "[exl2] SKIPPED: no nvcc (see above)"
      STATUS+=("exl2: skipped, no nvcc")
    elif ! exl2_build_ok_so_far; then
      echo "[exl2] SKIPPED: the extension did not build (exl2_build.log)"
      STATUS+=("exl2: skipped, the extension did not build")
    else
      local budget=$(($(left) - RESERVE_S))
      export EXL2_TIMEOUT_S=$((budget > 30 ? budget - 10 : 20)) # check_exl2.sh's own limit ends first
      stage exl2 "$budget" "$OUT/exl2.log" bash benchmarks/gpu/check_exl2.sh
    fi
  fi
  stop_exl2_build
  summary
}

main 2>&1 | tee "$OUT/run_all.log"
exit "${PIPESTATUS[0]}"

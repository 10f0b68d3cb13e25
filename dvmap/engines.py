"""Whether a job's engine (verl for `train_verl`, vLLM for `generate_vllm`) can be imported by the
Python that will run it, checked as the job starts: a job started in the wrong environment stops
at once with the environment to use, instead of failing after Ray, a model load or a server start."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import dataclass

from dvmap.errors import DVMapError


@dataclass(frozen=True)
class Engine:
    module: str       # what the job imports
    rule: str         # the rule whose jobs need it
    env_file: str     # the stage environment that has it (Snakemake's software deployment)
    python_env: str   # the variable naming another Python that has it
    cpu_setup: str    # the kit's script building a CPU environment with it (checks, not GPU runs)


ENGINES = {
    "verl": Engine("verl", "train_verl", "envs/train-verl.yaml", "DVMAP_VERL_PYTHON", "scripts/setup_verl_cpu.sh"),
    "vllm": Engine("vllm", "generate_vllm", "envs/eval-vllm.yaml", "DVMAP_VLLM_PYTHON", "scripts/setup_vllm_cpu.sh"),
}


class EngineMissing(DVMapError):
    """A job's engine cannot be imported by the Python that would run it."""


def importable(module: str, python: str | None = None) -> bool:
    """Whether `python` (this one when None) finds `module`, without importing it."""
    if python is None or python == sys.executable:
        return importlib.util.find_spec(module) is not None
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    try:
        return subprocess.run([python, "-c", probe], capture_output=True, timeout=120).returncode == 0
    except OSError:
        return False


def require_engine(name: str, python: str | None = None) -> None:
    """Stop a job whose engine `python` (this one when None) cannot import, naming the environment to use."""
    engine = ENGINES[name]
    if importable(engine.module, python):
        return
    where = python or sys.executable
    raise EngineMissing(
        f"{engine.rule}: {engine.module} cannot be imported by {where}, the Python this job runs in; nothing was "
        f"started. Run the job in {engine.env_file}: `snakemake --software-deployment-method conda ...` (the "
        f"cluster command of docs/cluster.md), or set {engine.python_env} to a Python that has {engine.module} "
        f"(a GPU virtual environment on the cluster; {engine.cpu_setup} builds a CPU one for checks)"
    )

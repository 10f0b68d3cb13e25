"""Snakemake adapter: upstream verl GRPO, then merge the newest checkpoint into a Hugging Face model.

Checkpoints go to params.checkpoint_dir/<fingerprint of the overrides and input files>, so only the
same run resumes: a job killed at its walltime resumes on the next run (trainer.resume_mode=auto).
Single node: main_ppo runs here. Several nodes: scripts/ray_on_slurm.sh first starts a Ray cluster
over the job's nodes (verl's Ray-on-SLURM recipe). verl runs with the job's Python, or the one named
by $DVMAP_VERL_PYTHON; Ray's worker processes import the kit (the reward file does) from this checkout."""
import os
import subprocess
import sys
from pathlib import Path

import dvmap
from dvmap.engines import require_engine
from dvmap.files import logged
from dvmap.train.checkpoints import run_checkpoint_dir
from dvmap.train.verl_config import (
    REWARD_FILE,
    VERL_PYTHON_ENV,
    checkpoint_override,
    latest_actor_checkpoint,
    ray_cpus,
    ray_cpus_override,
    resolve_overrides,
)

sm = snakemake  # noqa: F821
KIT = Path(dvmap.__file__).resolve().parents[1]  # what Ray's workers need on their path to import the kit
with logged(sm.log[0]) as log, open(sm.log[0], "a") as log_file:
    python = os.environ.get(VERL_PYTHON_ENV) or sys.executable
    require_engine("verl", python)  # before any checkpoint folder, Ray or GPU work: the wrong environment stops here
    # The fingerprint: overrides as the workflow wrote them (relative paths, the reward placeholder) and
    # the content of the files they name, so a moved checkout resumes from its checkpoints.
    checkpoints = run_checkpoint_dir(sm.params.checkpoint_dir, sm.params.overrides, [*sm.input, REWARD_FILE]).resolve()
    checkpoints.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(KIT), os.environ.get("PYTHONPATH")]))}
    # Hydra's own run folder (config, main_ppo.log) with the checkpoints, not outputs/<date> in the workflow
    command = [python, "-m", "verl.trainer.main_ppo", *resolve_overrides(sm.params.overrides),
               checkpoint_override(checkpoints), f"hydra.run.dir={checkpoints / 'hydra'}"]
    # Ray's CPU count is set here, not in the params: a change of cores must not lose the checkpoints.
    gpus_per_node = sm.resources.gpu // sm.resources.nodes
    if int(os.environ.get("SLURM_JOB_NUM_NODES", "1")) > 1:
        env["DVMAP_RAY_CPUS"] = str(ray_cpus(gpus_per_node, sm.resources.cpus_per_gpu))  # each node's `ray start`
        command = ["bash", str(Path(sm.scriptdir) / "ray_on_slurm.sh"), *command]
    else:
        command.append(ray_cpus_override(gpus_per_node, sm.resources.cpus_per_gpu))
    log.info("running: %s", " ".join(command))
    subprocess.run(command, check=True, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    actor = latest_actor_checkpoint(checkpoints)
    merge = [python, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
             "--local_dir", str(actor), "--target_dir", sm.output[0]]
    log.info("merging: %s", " ".join(merge))
    subprocess.run(merge, check=True, stdout=log_file, stderr=subprocess.STDOUT, env=env)

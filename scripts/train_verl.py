"""Snakemake adapter: upstream verl GRPO, then merge the newest checkpoint into a Hugging Face model.

Checkpoints go to params.checkpoint_dir/<fingerprint of the overrides and input files>, so only the
same run resumes: a job killed at its walltime resumes on the next run (trainer.resume_mode=auto).
Single node: main_ppo runs here. Several nodes: scripts/ray_on_slurm.sh first starts a Ray cluster
over the job's nodes (verl's Ray-on-SLURM recipe)."""
import os
import subprocess
import sys
from pathlib import Path

from dvmap.files import logged
from dvmap.train.checkpoints import run_checkpoint_dir
from dvmap.train.verl_config import REWARD_FILE, checkpoint_override, latest_actor_checkpoint, resolve_overrides

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log, open(sm.log[0], "a") as log_file:
    # The fingerprint: overrides as the workflow wrote them (relative paths, the reward placeholder) and
    # the content of the files they name, so a moved checkout resumes from its checkpoints.
    checkpoints = run_checkpoint_dir(sm.params.checkpoint_dir, sm.params.overrides, [*sm.input, REWARD_FILE]).resolve()
    checkpoints.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "verl.trainer.main_ppo", *resolve_overrides(sm.params.overrides),
               checkpoint_override(checkpoints)]
    if int(os.environ.get("SLURM_JOB_NUM_NODES", "1")) > 1:
        command = ["bash", str(Path(sm.scriptdir) / "ray_on_slurm.sh"), *command]
    log.info("running: %s", " ".join(command))
    subprocess.run(command, check=True, stdout=log_file, stderr=subprocess.STDOUT)
    actor = latest_actor_checkpoint(checkpoints)
    merge = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
             "--local_dir", str(actor), "--target_dir", sm.output[0]]
    log.info("merging: %s", " ".join(merge))
    subprocess.run(merge, check=True, stdout=log_file, stderr=subprocess.STDOUT)

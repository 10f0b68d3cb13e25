"""verl GRPO runs rendered from the specs: Hydra overrides for upstream
`python -m verl.trainer.main_ppo` (unmodified verl 0.9) and batch-size checks done before any
job is submitted."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dvmap.train.rewards import params_from_spec

REWARD_FILE = Path(__file__).resolve().parent / "verl_reward.py"
# What the workflow's params hold instead of REWARD_FILE's absolute path: params (and the checkpoint
# fingerprint made from them) must not change when the checkout moves, or days of checkpoints are
# lost. The job puts the real path in (resolve_overrides).
REWARD_PLACEHOLDER = "{dvmap_reward_file}"
REWARD_FUNCTION = "compute_score"
# A Python with verl for the train_verl job (default: the job's own, the conda env envs/train-verl.yaml)
VERL_PYTHON_ENV = "DVMAP_VERL_PYTHON"
# CPU slots verl 0.9's trainer holds in Ray for its own actors whatever the node: the task runner,
# TransferQueue's controller and 8 storage units, 8 reward workers and 8 agent-loop workers; and per
# GPU, 3 for its colocated worker groups and 1 for a rollout server. Ray counts the node's cores
# when not told, and on a node with fewer the trainer waits for a free slot forever, silently.
VERL_RAY_ACTOR_CPUS = 26
VERL_RAY_CPUS_PER_GPU = 4


def _value(v) -> str:
    """A Hydra override value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}:{_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_value(x) for x in v) + "]"
    return str(v)


def reward_kwargs(reward: Mapping) -> dict:
    """Keyword arguments verl passes to dvmap.train.rewards.verl_compute_score."""
    return {"variant": reward["variant"], **params_from_spec(reward)}


def verl_overrides(name: str, model: Mapping, preset: Mapping, reward: Mapping, train_file: str, val_file: str,
                   checkpoint_dir: str | None = None, seed: int = 0, reward_file: str | Path = REWARD_FILE) -> list[str]:
    """Overrides for `python -m verl.trainer.main_ppo` (Hydra syntax, key=value). Without a
    checkpoint_dir the caller adds trainer.default_local_dir (see checkpoint_override). `seed`
    seeds the data shuffle, the actor's data loader and the rollout sampler. The workflow passes
    reward_file=REWARD_PLACEHOLDER and the job resolves it."""
    res = model["resources"]
    micro = preset["micro_batch_size_per_gpu"]
    settings = {
        "algorithm.adv_estimator": "grpo",
        "algorithm.use_kl_in_reward": False,
        "data.train_files": train_file,
        "data.val_files": val_file,
        "data.train_batch_size": preset["train_batch_size"],
        "data.max_prompt_length": preset["max_prompt_length"],
        "data.max_response_length": preset["max_response_length"],
        "data.filter_overlong_prompts": True,
        "data.truncation": "error",
        "data.seed": seed,
        "actor_rollout_ref.actor.data_loader_seed": seed,
        "actor_rollout_ref.rollout.seed": seed,
        "+data.apply_chat_template_kwargs.enable_thinking": False,   # Qwen3 thinking off
        "actor_rollout_ref.model.path": model["base_model"],
        "actor_rollout_ref.model.use_remove_padding": True,
        "actor_rollout_ref.model.enable_gradient_checkpointing": True,
        "actor_rollout_ref.actor.strategy": preset["strategy"],
        "actor_rollout_ref.actor.optim.lr": preset["lr"],
        "actor_rollout_ref.actor.ppo_mini_batch_size": preset["mini_batch_size"],
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": micro,
        "actor_rollout_ref.actor.use_kl_loss": preset["use_kl_loss"],
        "actor_rollout_ref.actor.kl_loss_coef": preset["kl_loss_coef"],
        "actor_rollout_ref.actor.kl_loss_type": preset["kl_loss_type"],
        "actor_rollout_ref.actor.entropy_coeff": preset["entropy_coeff"],
        "actor_rollout_ref.ref.strategy": preset["strategy"],
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": micro,
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.rollout.n": preset["rollouts"],
        "actor_rollout_ref.rollout.temperature": preset["temperature"],
        "actor_rollout_ref.rollout.tensor_model_parallel_size": preset["rollout_tensor_parallel"],
        "actor_rollout_ref.rollout.gpu_memory_utilization": preset["gpu_memory_utilization"],
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": micro,
        "reward.custom_reward_function.path": str(reward_file),
        "reward.custom_reward_function.name": REWARD_FUNCTION,
        "+reward.custom_reward_function.reward_kwargs": reward_kwargs(reward),
        "trainer.project_name": "dvmap",
        "trainer.experiment_name": name,
        "trainer.logger": ["console"],
        "trainer.nnodes": res["nodes"],
        "trainer.n_gpus_per_node": res["gpus_per_node"],
        "trainer.total_epochs": preset["epochs"],
        "trainer.save_freq": preset["save_freq"],
        "trainer.test_freq": -1,
        "trainer.val_before_train": False,
        "trainer.resume_mode": "auto",           # a rerun after a walltime kill resumes from the last checkpoint
    }
    overrides = [f"{key}={_value(value)}" for key, value in settings.items()]
    return overrides + ([checkpoint_override(checkpoint_dir)] if checkpoint_dir else [])


def resolve_overrides(overrides: list[str]) -> list[str]:
    """The overrides with the reward file's path of this installation in place of the placeholder."""
    return [o.replace(REWARD_PLACEHOLDER, str(REWARD_FILE)) for o in overrides]


def ray_cpus(gpus_per_node: int, cpus_per_gpu: int) -> int:
    """Ray's CPU count on each node of a verl job: the job's cores, or what verl's own actors hold
    when that is more (logical slots: the actors are mostly idle)."""
    return max(gpus_per_node * cpus_per_gpu, VERL_RAY_ACTOR_CPUS + VERL_RAY_CPUS_PER_GPU * gpus_per_node)


def ray_cpus_override(gpus_per_node: int, cpus_per_gpu: int) -> str:
    """Set by the job, not the workflow: a change of cores must not change the checkpoint fingerprint."""
    return f"ray_kwargs.ray_init.num_cpus={ray_cpus(gpus_per_node, cpus_per_gpu)}"


def checkpoint_override(checkpoint_dir: str | Path) -> str:
    return f"trainer.default_local_dir={checkpoint_dir}"


def latest_actor_checkpoint(checkpoint_dir: str | Path) -> Path:
    """The actor folder of the newest checkpoint verl recorded."""
    root = Path(checkpoint_dir)
    marker = root / "latest_checkpointed_iteration.txt"
    if not marker.is_file():
        raise FileNotFoundError(f"{marker}: verl wrote no checkpoint")
    return root / f"global_step_{int(marker.read_text().strip())}" / "actor"

"""Training: verl configs composed against verl's own shipped Hydra config, batch-size errors,
the SLURM dry run of the paper preset, and a short local GRPO run on a learnable toy split."""
import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dvmap.errors import SpecError
from dvmap.specs import ROOT, check_models
from dvmap.train import rewards
from dvmap.train.local import selected_step
from dvmap.train.verl_config import REWARD_FILE, REWARD_FUNCTION, verl_overrides

VERL_VERSION = "0.9.1"
MODELS = yaml.safe_load((ROOT / "specs/models.yaml").read_text())


@pytest.fixture(scope="session")
def verl_package(tmp_path_factory):
    """verl installed without its GPU dependencies (only its files: configs and loaders)."""
    target = tmp_path_factory.mktemp("verl")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                           f"verl=={VERL_VERSION}"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"could not install verl=={VERL_VERSION} from the package index: {proc.stderr[-500:]}")
    return target / "verl"


def compose(verl_package, overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(verl_package / "trainer/config"), version_base=None):
        return hydra_compose(config_name="ppo_trainer", overrides=overrides)


def paper_overrides(name="qwen3-8b", preset="paper"):
    model = MODELS["models"][name]
    return verl_overrides(name, model, MODELS["presets"][preset], MODELS["reward"], "/data/train.parquet",
                          "/data/dev.parquet", "/ckpt/" + name)


@pytest.mark.parametrize("name", [m for m, v in MODELS["models"].items() if v["backend"] == "verl"])
@pytest.mark.parametrize("preset", sorted(MODELS["presets"]))
def test_overrides_compose_against_verls_own_config(verl_package, name, preset):
    """Hydra rejects any override whose key verl's config lacks (without '+'): every key exists."""
    cfg = compose(verl_package, paper_overrides(name, preset))
    p = MODELS["presets"][preset]
    assert cfg.algorithm.adv_estimator == "grpo"
    assert cfg.actor_rollout_ref.rollout.name == "vllm"
    assert cfg.actor_rollout_ref.rollout.n == p["rollouts"]
    assert cfg.actor_rollout_ref.actor.optim.lr == p["lr"]
    assert cfg.data.train_batch_size == p["train_batch_size"]
    assert cfg.data.apply_chat_template_kwargs.enable_thinking is False
    assert cfg.actor_rollout_ref.model.path == MODELS["models"][name]["base_model"]
    assert cfg.trainer.default_local_dir == f"/ckpt/{name}" and cfg.trainer.resume_mode == "auto"
    # verl 0.9 still parses the old top-level custom_reward_function but ignores it: we leave it unset
    assert cfg.custom_reward_function.path is None
    assert not any(o.lstrip("+").startswith("custom_reward_function.") for o in paper_overrides(name, preset))
    assert cfg.reward.custom_reward_function.path == str(REWARD_FILE)


def test_an_unknown_key_is_rejected_by_composition(verl_package):
    with pytest.raises(Exception, match="reward_fn_typo"):
        compose(verl_package, [*paper_overrides(), "reward.reward_fn_typo=1"])


def test_reward_function_verl_loads_is_ours(verl_package):
    cfg = compose(verl_package, paper_overrides())
    fn_cfg = cfg.reward.custom_reward_function
    assert (fn_cfg.path, fn_cfg.name) == (str(REWARD_FILE), REWARD_FUNCTION)
    # verl's own loader (verl/utils/import_utils.py only needs the standard library)
    spec = importlib.util.spec_from_file_location("verl_import_utils", verl_package / "utils/import_utils.py")
    import_utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(import_utils)
    loaded = import_utils.load_extern_object(module_path=fn_cfg.path, object_name=fn_cfg.name)
    assert loaded.__module__ == rewards.__name__ and loaded.__name__ == rewards.verl_compute_score.__name__
    # called the way verl's reward manager calls it, with reward_kwargs merged in
    got = loaded(data_source="wvs", solution_str="<reasoning>r</reasoning><answer>Low</answer>", ground_truth="Low",
                 extra_info={"options": ["Low", "Medium", "High"]}, **dict(fn_cfg.reward_kwargs))
    assert got == pytest.approx(1.5)


def test_verl_export_matches_what_verl_reads(tmp_path):
    """The RL parquet has verl's columns; prompts are chat messages; options travel in extra_info."""
    from dvmap.data.exports import verl_rows

    samples = pd.DataFrame({"sample_id": ["a"], "q_id": ["Q1"], "country": ["USA"], "options": [["Low", "High"]],
                            "answer": ["High"], "answer_index": [1], "frequency": [0.5]})
    prompts = pd.DataFrame({"sample_id": ["a"], "system": ["s"], "prompt": ["u"]})
    rows = verl_rows(samples, prompts, "train", "wvs", "value_alignment")
    assert set(rows.columns) >= {"data_source", "prompt", "reward_model", "extra_info"}  # data.prompt_key=prompt
    assert rows.loc[0, "reward_model"]["ground_truth"] == "High" and rows.loc[0, "extra_info"]["options"] == ["Low", "High"]


BAD_BATCHES = [
    ({"rollouts": 1}, "presets/paper/rollouts", "at least 2 rollouts"),
    ({"mini_batch_size": 128}, "presets/paper/mini_batch_size", "exceeds the train batch"),
    ({"rollouts": 3, "train_batch_size": 63, "mini_batch_size": 63}, "presets/paper/train_batch_size",
     "189 sequences do not divide over the 8 GPUs"),
    ({"micro_batch_size_per_gpu": 48}, "presets/paper/micro_batch_size_per_gpu", "not a multiple"),
    ({"rollout_tensor_parallel": 3}, "presets/paper/rollout_tensor_parallel", "does not divide"),
]


@pytest.mark.parametrize("change,key,message", BAD_BATCHES, ids=[b[1].split("/")[-1] for b in BAD_BATCHES])
def test_bad_hyperparameters_give_named_errors(change, key, message):
    spec = copy.deepcopy(MODELS)
    spec["presets"]["paper"].update(change)
    with pytest.raises(SpecError) as err:
        check_models(spec, "specs/models.yaml")
    assert err.value.key_path == key and message in str(err.value)


def test_unknown_preset_is_named():
    spec = copy.deepcopy(MODELS)
    spec["models"]["qwen3-8b"]["preset"] = "fast"
    with pytest.raises(SpecError, match="models/qwen3-8b/preset: unknown preset 'fast'"):
        check_models(spec, "specs/models.yaml")


def test_bad_batch_sizes_stop_snakemake_before_any_job(workflow):
    path = workflow / "specs/models.yaml"
    path.write_text(path.read_text().replace("rollouts: 8                  # completions", "rollouts: 1 #"))
    from conftest import snakemake

    proc = snakemake(workflow, "-n", check=False)
    assert proc.returncode != 0 and "rollouts: GRPO needs at least 2 rollouts" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_slurm_dry_run_of_the_paper_preset(workflow):
    from conftest import snakemake

    proc = snakemake(workflow, "-n", "--profile", "profiles/slurm", "--configfile", "specs/presets/paper.yaml")
    out = proc.stdout
    jobs = out.split("rule train_verl:")[1:]
    assert len(jobs) == 15  # five models x the experiments spec's three seeds
    by_model = {}
    for job in jobs:
        output = job.split("output: ")[1].split("\n")[0]
        resources = job.split("resources: ")[1].split("\n")[0]
        by_model[output] = dict(kv.split("=", 1) for kv in resources.split(", "))
    assert set(by_model) == {f"results/models/{m}__s{s}" for m in ("qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b",
                                                                   "llama-3.2-3b") for s in (0, 1, 2)}
    r = by_model["results/models/qwen3-8b__s0"]
    assert (r["gpu"], r["nodes"], r["runtime"], r["mem_mb"]) == ("8", "1", "900", "600000")
    assert r["slurm_partition"] == "gpu" and "slurm_extra" not in r


TOY_CFG = {
    "seed": 0,
    "tokenizer": {"vocab_size": 300, "train_texts": 200},
    "architecture": {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1,
                     "max_positions": 128},
    "warmup": {"steps": 40, "batch_size": 16, "lr": 1.0e-2},
    "grpo": {"steps": 30, "lr": 2.0e-3, "lr_schedule": "constant", "lr_warmup_steps": 0, "rollouts": 4,
             "prompts_per_step": 4, "temperature": 1.0, "max_completion_length": 6, "kl_coef": 0.0, "save_steps": 10,
             "eval_steps": 15, "eval_samples": 16, "select_min_valid": 0.9},
    "reward": {"variant": "paper", "beta": 0.5, "format": "answer_only"},
}


def toy_split(n):
    """A trivially learnable split: the answer is always the option 'yes'."""
    return pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "system": "answer in tags",
                         "prompt": [f"question {i % 7}: pick one. options: yes, no" for i in range(n)],
                         "answer": "yes", "options": [["yes", "no"]] * n, "frequency": 1.0})


@pytest.mark.slow
def test_local_grpo_reward_rises_on_a_toy_split(tmp_path):
    from dvmap.train.local import LOG_NAME, build_base_model, grpo_train

    build_base_model(toy_split(200), TOY_CFG, tmp_path / "base")
    log = grpo_train(tmp_path / "base", toy_split(200), toy_split(32), TOY_CFG, tmp_path / "model", tmp_path / "ckpt")
    rewards_logged = [h["reward_mean"] for h in log if "reward_mean" in h]
    assert len(rewards_logged) >= 3
    assert rewards_logged[-1] > rewards_logged[0] + 0.2, rewards_logged
    dev = [h["dev"]["accuracy"] for h in log if "dev" in h]
    assert dev[-1] > dev[0] and dev[-1] >= 0.9, dev
    assert (tmp_path / "model" / LOG_NAME).is_file() and (tmp_path / "model" / "config.json").is_file()
    assert any((tmp_path / "ckpt").glob("checkpoint-*"))  # resumable checkpoints outside the output
    # the output is the dev-selected checkpoint, and the log says which
    assert log[-1]["selected_step"] == selected_step(log, 0.9)[0]
    assert log[-1]["selected_dev_accuracy"] == max(dev)


def test_selected_step_is_the_best_dev_checkpoint_that_parses():
    log = [{"step": 0, "dev": {"accuracy": 0.25, "valid": 1.0}}, {"step": 10, "reward_mean": 1.2},
           {"step": 20, "dev": {"accuracy": 0.50, "valid": 0.90}},   # best accuracy, but too many parse failures
           {"step": 40, "dev": {"accuracy": 0.45, "valid": 0.97}},
           {"step": 60, "dev": {"accuracy": 0.45, "valid": 1.0}}]    # a tie: the earlier step wins
    assert selected_step(log, 0.95) == (40, 0.45)
    assert selected_step(log, 0.9) == (20, 0.50)
    assert selected_step(log[1:2], 0.95) is None
    # none parses well enough: the most parseable evaluation stands in, so a run always yields a model
    short = [{"step": 0, "dev": {"accuracy": 0.2, "valid": 0.91}}, {"step": 20, "dev": {"accuracy": 0.4, "valid": 0.93}},
             {"step": 40, "dev": {"accuracy": 0.3, "valid": 0.93}}]
    assert selected_step(short, 0.95) == (20, 0.4)


@pytest.mark.slow
def test_local_grpo_resumes_after_interruption(tmp_path):
    from dvmap.train.local import build_base_model, grpo_train

    build_base_model(toy_split(100), TOY_CFG, tmp_path / "base")
    short = copy.deepcopy(TOY_CFG)
    short["grpo"]["steps"] = 10  # "killed" after its step-10 checkpoint
    grpo_train(tmp_path / "base", toy_split(100), toy_split(16), short, tmp_path / "partial", tmp_path / "ckpt")
    log = grpo_train(tmp_path / "base", toy_split(100), toy_split(16), TOY_CFG, tmp_path / "model", tmp_path / "ckpt")
    steps = [h["step"] for h in log if "reward_mean" in h]
    assert steps == [10, 20, 30]  # continued after step 10: nothing redone, nothing logged twice
    # a run that already finished is taken as it is, not trained further
    again = grpo_train(tmp_path / "base", toy_split(100), toy_split(16), TOY_CFG, tmp_path / "again", tmp_path / "ckpt")
    assert [h["step"] for h in again if "reward_mean" in h] == [10, 20, 30]
    from safetensors.torch import load_file

    first, second = load_file(tmp_path / "model/model.safetensors"), load_file(tmp_path / "again/model.safetensors")
    assert all((first[k] == second[k]).all() for k in first)


def test_workflow_overrides_hold_no_absolute_path(tmp_path):
    """What the workflow puts in train_verl's params (and so in the checkpoint fingerprint) must not
    change when the checkout moves: relative data paths and a placeholder for the reward file, which
    the job resolves to this installation's file."""
    from dvmap.train.checkpoints import run_fingerprint
    from dvmap.train.verl_config import REWARD_PLACEHOLDER, resolve_overrides

    model = MODELS["models"]["qwen3-8b"]
    overrides = verl_overrides("qwen3-8b__s0", model, MODELS["presets"]["paper"], MODELS["reward"],
                               "results/verl/structured_cot/train.parquet", "results/verl/structured_cot/dev.parquet",
                               seed=0, reward_file=REWARD_PLACEHOLDER)
    assert not [o for o in overrides if "=/" in o or str(Path.cwd()) in o], overrides
    assert f"reward.custom_reward_function.path={REWARD_FILE}" in resolve_overrides(overrides)
    # two checkouts with the same inputs at different places: the same checkpoint folder name
    prints = []
    for place in ("a", "b/deeper"):
        data = tmp_path / place / "results/verl/structured_cot/train.parquet"
        data.parent.mkdir(parents=True)
        data.write_bytes(b"same rows")
        prints.append(run_fingerprint(overrides, [data, REWARD_FILE]))
    assert prints[0] == prints[1]


def test_ray_gets_the_jobs_cores_or_what_verls_actors_hold():
    """Ray's CPU count for a verl job (set by the job, scripts/train_verl.py): never fewer slots than
    verl 0.9's trainer holds for its own actors, whatever the node's core count."""
    from dvmap.train.verl_config import ray_cpus, ray_cpus_override

    assert ray_cpus(8, 8) == 64                      # the specs' 8-GPU jobs: their 64 cores
    assert ray_cpus(8, 2) == 26 + 4 * 8              # few cores per GPU: what verl's actors hold
    assert ray_cpus(1, 8) == 30
    assert ray_cpus_override(1, 8) == "ray_kwargs.ray_init.num_cpus=30"
    for name in [m for m, v in MODELS["models"].items() if v["backend"] == "verl"]:
        res = MODELS["models"][name]["resources"]
        assert ray_cpus(res["gpus_per_node"], res["cpus_per_gpu"]) == res["gpus_per_node"] * res["cpus_per_gpu"]

"""verl's own code on the demo's exports, on CPU, in the verl environment that
scripts/setup_verl_cpu.sh makes (verl pins transformers apart from the demo stack): verl's dataset
class on every exported split of every exported template, the kit's reward through verl's loader
and reward managers (in process and through Ray) for every variant, verl's config check on every
verl model and preset, one GRPO update from verl's algorithms on the tiny model, and the workflow's
train_verl job, whose `main_ppo` must get through everything before its GPU check. The verl side
runs in tools/verl_check.py (one process for the first four); the expectations are here. Skipped
without the environment, except in CI, which makes it first."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import copy_workflow

from dvmap.data.splits import DATASETS
from dvmap.specs import ROOT, check_models
from dvmap.train import rewards
from dvmap.train.verl_config import REWARD_FILE, VERL_PYTHON_ENV, ray_cpus, verl_overrides

pytestmark = pytest.mark.verl

VERL_PYTHON = Path(os.environ.get(VERL_PYTHON_ENV) or ROOT / ".venv-verl" / "bin" / "python")
MODELS = yaml.safe_load((ROOT / "specs/models.yaml").read_text())
PROMPTS = yaml.safe_load((ROOT / "specs/prompts.yaml").read_text())
VERL_TEMPLATES = PROMPTS["exports"]["verl"]["templates"]
VERL_MODELS = [m for m, v in MODELS["models"].items() if v["backend"] == "verl"]
TINY = MODELS["models"]["tiny"]["local"]
# The demo's train_verl job: a verl model on the tiny model built here, on one GPU.
DEMO_MODEL = {"backend": "verl", "template": "structured_cot", "preset": "paper",
              "resources": {"nodes": 1, "gpus_per_node": 1, "runtime": 30, "mem_mb": 8000, "cpus_per_gpu": 8}}
DEMO_RUN = "tiny-verl__s0"
GPU_CHECK = "Total available GPUs 0 is less than total desired GPUs 1"
# a raised exception's last line, also when Ray prefixes it with its actor: `ValueError: ...`,
# `ray.exceptions.RayTaskError(ValueError): ...` (not a warning that names an exception class)
EXCEPTION_LINE = re.compile(r"^(?:\x1b\[\d+m\(\w+ pid=\d+\)\x1b\[0m )?((?:[\w.]+\.)?\w*(?:Error|Exception)\b(?:\(\w+\))?: .*)$",
                            re.MULTILINE)
QUIET = {"RAY_USAGE_STATS_ENABLED": "0", "TOKENIZERS_PARALLELISM": "false"}


def export(root: Path, template: str, dataset: str) -> Path:
    return root / "results" / "verl" / template / f"{dataset}.parquet"


# ---- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def verl_python() -> str:
    """The verl environment; in CI (CI=true), which makes it first, its absence is a failure."""
    reason = None
    if not VERL_PYTHON.exists():
        reason = (f"no verl environment at {VERL_PYTHON}: create it with scripts/setup_verl_cpu.sh "
                  f"(or point {VERL_PYTHON_ENV} at a Python with verl and the kit)")
    else:
        probe = subprocess.run([str(VERL_PYTHON), "-c", "import verl.trainer.main_ppo, tools.verl_check"],
                               capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if probe.returncode != 0:
            reason = (f"{VERL_PYTHON} cannot import verl and the kit (rerun scripts/setup_verl_cpu.sh --force): "
                      f"{probe.stderr.strip().splitlines()[-1:]}")
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)
    return str(VERL_PYTHON)


@pytest.fixture(scope="module")
def exports(verl_python, tmp_path_factory) -> Path:
    """A workflow root holding every verl export of the demo: the checkout's when built (CI builds
    the demo before the tests), else the data stage built in a copy of the workflow (about a minute)."""
    targets = [export(Path(), t, d) for t in VERL_TEMPLATES for d in DATASETS]
    if all((ROOT / t).is_file() for t in targets):
        return ROOT
    workflow = copy_workflow(tmp_path_factory.mktemp("verl-exports") / "wf")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *map(str, targets)], cwd=workflow,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workflow


@pytest.fixture(scope="module")
def tiny(exports, tmp_path_factory) -> Path:
    """The demo's tiny model as its base starts (dvmap.train.tiny_model): the tokenizer trained on the same
    training prompts as the demo's, and the demo's architecture, randomly initialised (no warm-up:
    the GRPO step samples answers under a grammar)."""
    from dvmap.train import tiny_model

    rows = pd.read_parquet(export(exports, "structured_cot", "train"), columns=["prompt"])["prompt"]
    texts = [rows.iloc[0][0]["content"]] + [p[1]["content"] for p in rows.iloc[:TINY["tokenizer"]["train_texts"]]]
    tok = tiny_model.train_tokenizer(texts, TINY["tokenizer"]["vocab_size"])
    model = tiny_model.build_model(tok, TINY["architecture"], TINY["seed"])
    out = tmp_path_factory.mktemp("tiny-verl") / "model"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def verl_env(tmp: Path) -> dict:
    return {**os.environ, **QUIET, "PYTHONPATH": str(ROOT), "HF_DATASETS_CACHE": str(tmp / "hf-datasets")}


def overrides(name: str, model: dict, preset: str, reward: dict, root: Path, template: str = "structured_cot") -> list:
    return verl_overrides(name, model, MODELS["presets"][preset], reward, str(export(root, template, "train")),
                          str(export(root, template, "dev")), checkpoint_dir="/checkpoints/" + name)


def plain(value):
    """A parquet cell as JSON-ready Python (numpy arrays to lists)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def reward_cases(dev: pd.DataFrame) -> list[dict]:
    """Made-up responses to the first rows of an export: the paper reward's four values, a neighbour
    option (partial credit under likert and gaussian) and a lenient answer (partial under release)."""
    cases = []
    for _, row in dev.head(3).iterrows():
        options, truth = list(row["extra_info"]["options"]), row["reward_model"]["ground_truth"]
        i = options.index(truth)
        far = options[0] if i >= len(options) / 2 else options[-1]
        near = options[i - 1] if i > 0 else options[i + 1]
        for response in (f"<reasoning>\nWeighing the profile.\n</reasoning>\n<answer>\n{truth}\n</answer>",
                         f"<answer>{truth}</answer>",
                         f"<reasoning>\nWeighing the profile.\n</reasoning>\n<answer>{far}</answer>",
                         "I would rather not say.",
                         f"<reasoning>r</reasoning><answer>{near}</answer>",
                         f"<reasoning>r</reasoning><answer>I would say {truth}</answer>"):
            cases.append({"prompt": plain(list(row["prompt"])), "response": response, "data_source": row["data_source"],
                          "reward_model": plain(row["reward_model"]), "extra_info": plain(row["extra_info"])})
    return cases


def reward_spec(variant: str) -> dict:
    return {**MODELS["reward"], "variant": variant}


@pytest.fixture(scope="module")
def checks(verl_python, exports, tiny, train_verl_started, tmp_path_factory) -> dict:
    """One run of tools/verl_check.py in the verl environment: dataset, config, rewards, GRPO step
    (while the train_verl job runs)."""
    tmp = tmp_path_factory.mktemp("verl-checks")
    demo = {**DEMO_MODEL, "base_model": str(tiny)}
    files = [str(export(exports, t, d)) for t in VERL_TEMPLATES for d in DATASETS]
    dev = pd.read_parquet(export(exports, "structured_cot", "dev"))
    config_cases = [(m, p) for m in VERL_MODELS for p in sorted(MODELS["presets"])]
    request = {
        "dataset": {"overrides": overrides("demo", demo, "paper", MODELS["reward"], exports)
                    + ["data.filter_overlong_prompts_workers=2"], "files": files, "tokenizer_path": str(tiny)},
        "config": [{"overrides": overrides(m, MODELS["models"][m], p, MODELS["reward"], exports)}
                   for m, p in config_cases],
        "config:verl_rejects": {"overrides": overrides("qwen3-8b", MODELS["models"]["qwen3-8b"], "paper",
                                                       MODELS["reward"], exports)
                                + ["actor_rollout_ref.actor.ppo_mini_batch_size=128"]},
        "config:verl_accepts": [{"overrides": overrides("qwen3-8b", MODELS["models"]["qwen3-8b"], "paper",
                                                        MODELS["reward"], exports) + extra}
                                for _, extra in KIT_ONLY_REJECTS],
        "rewards": {"overrides_by_variant": {v: overrides("demo", demo, "paper", reward_spec(v), exports)
                                             for v in rewards.VARIANTS},
                    "tokenizer_path": str(tiny), "cases": reward_cases(dev), "manager_variant": "paper",
                    "ray_cpus": ray_cpus(1, 8)},
        "grpo_step": {"overrides": overrides("demo", demo, "paper", MODELS["reward"], exports),
                      "model_path": str(tiny), "train_file": str(export(exports, "structured_cot", "train")),
                      "prompts": 8, "step_norm": 1e-2},
        "environment": {},
    }
    (tmp / "request.json").write_text(json.dumps(request))
    proc = subprocess.run([verl_python, "-m", "tools.verl_check", str(tmp / "request.json"), str(tmp / "result.json")],
                          capture_output=True, text=True, cwd=tmp, env=verl_env(tmp), timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]
    results = json.loads((tmp / "result.json").read_text())
    results["_config_cases"] = config_cases
    results["_dev"] = dev
    return results


def result(checks: dict, name: str):
    got = checks[name]
    if isinstance(got, dict) and "exception" in got:
        pytest.fail(f"verl check {name!r} raised in the verl environment:\n{got['exception']}")
    return got


# Batch settings the kit's checks reject and verl 0.9's validate_config accepts: why the kit's stay.
KIT_ONLY_REJECTS = [
    ({"micro_batch_size_per_gpu": 48}, ["actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=48"]),
    ({"train_batch_size": 63, "mini_batch_size": 63},
     ["data.train_batch_size=63", "actor_rollout_ref.actor.ppo_mini_batch_size=63"]),
]


# ---- 1. verl's dataset class on every export ------------------------------------------------------
def test_verl_dataset_loads_every_row_of_every_export(checks, exports):
    got = result(checks, "dataset")
    assert len(got) == len(VERL_TEMPLATES) * len(DATASETS)
    for file, facts in got.items():
        assert facts["rows"] > 0 and facts["loaded"] == facts["rows"], (file, facts)  # none dropped as overlong
        assert 0 < facts["min_tokens"] <= facts["max_tokens"] <= facts["max_prompt_length"], (file, facts)
        assert facts["truth_not_in_options"] == 0, file
        assert facts["data_sources"] == [PROMPTS["exports"]["verl"]["data_source"]]
        if facts["rows"] >= facts["batch_size"]:
            assert facts["first_batch"] == facts["batch_size"], (file, facts)  # verl's loader forms a batch
    train = got[str(export(exports, "structured_cot", "train"))]
    assert train["first_batch"] == MODELS["presets"]["paper"]["train_batch_size"]


def test_the_tokenizer_is_the_demos(tiny):
    """The tests' tokenizer is the demo base model's (same training texts and settings)."""
    built = ROOT / "results/models/tiny-base/tokenizer.json"
    if not built.is_file():
        pytest.skip("the demo's tiny base model is not built in this checkout")
    vocab = json.loads((tiny / "tokenizer.json").read_text())["model"]["vocab"]
    assert json.loads(built.read_text())["model"]["vocab"] == vocab


# ---- 2. the kit's reward through verl's loader and reward managers --------------------------------
def test_reward_through_verl_in_process_and_ray_for_every_variant(checks):
    got = result(checks, "rewards")
    cases = reward_cases(checks["_dev"])
    assert got["decoded"] == [c["response"] for c in cases]  # what verl's managers decode is the response
    expected = {}
    for v in rewards.VARIANTS:
        params = rewards.params_from_spec(reward_spec(v))
        expected[v] = [rewards.score(v, c["response"], c["reward_model"]["ground_truth"], c["extra_info"]["options"],
                                     c["extra_info"]["frequency"], **params) for c in cases]
    # the paper reward's known values: right with reasoning, right alone, wrong with reasoning, none
    assert expected["paper"][:4] == [1.5, 1.0, 0.5, 0.0]
    for v in rewards.VARIANTS:
        assert got["in_process"][v] == pytest.approx(expected[v]), v
        assert got["ray"][v] == pytest.approx(expected[v]), v
    assert got["ray"]["paper (RewardLoopManager)"] == pytest.approx(expected["paper"])
    assert len({tuple(expected[v]) for v in rewards.VARIANTS}) == len(rewards.VARIANTS)  # the variants differ here


# ---- 3. verl's own config check -------------------------------------------------------------------
def test_verl_config_check_accepts_every_verl_model_and_preset(checks):
    got = result(checks, "config")
    for (name, preset), facts in zip(checks["_config_cases"], got):
        assert facts["ok"], (name, preset, facts.get("error"))
        res = MODELS["models"][name]["resources"]
        assert facts["gpus"] == res["nodes"] * res["gpus_per_node"]
    assert not result(checks, "config:verl_rejects")["ok"]  # the check is live: a mini batch over the batch
    assert "ppo_mini_batch_size" in result(checks, "config:verl_rejects")["error"]


@pytest.mark.parametrize("i", range(len(KIT_ONLY_REJECTS)))
def test_the_kits_batch_checks_catch_what_verl_accepts(checks, i):
    import copy

    from dvmap.errors import SpecError

    change, _ = KIT_ONLY_REJECTS[i]
    assert result(checks, "config:verl_accepts")[i]["ok"]
    spec = copy.deepcopy(MODELS)
    spec["presets"]["paper"].update(change)
    with pytest.raises(SpecError):
        check_models(spec, "specs/models.yaml")


def test_cluster_env_brings_what_main_ppo_imports(checks):
    """envs/train-verl.yaml installs verl with an extra that brings verl-core (TransferQueue, which
    main_ppo's trainer imports; the CPU environment installs verl-core itself), and its transformers
    range admits what that extra pins."""
    from packaging.requirements import Requirement

    env = result(checks, "environment")
    pip = yaml.safe_load((ROOT / "envs/train-verl.yaml").read_text())["dependencies"][-1]["pip"]
    verl_req = Requirement(next(p for p in pip if p.startswith("verl")))
    assert verl_req.specifier.contains(env["verl"])
    extra_reqs = [Requirement(r) for r in env["requires"]]

    def of_extra(extra):
        return [r for r in extra_reqs if r.marker and r.marker.evaluate({"extra": extra})]

    for extra in verl_req.extras:
        brings = of_extra(extra)
        assert any(r.name == "verl" and "verl-core" in r.extras for r in brings), extra
        pinned = [r for r in brings if r.name == "transformers"]
        ours = Requirement(next(p for p in pip if p.startswith("transformers")))
        assert all(ours.specifier.contains(str(s.version)) for r in pinned for s in r.specifier), (pinned, ours)
    assert any(r.name.lower() == "transferqueue" for r in of_extra("verl-core"))
    assert env["imports"]["transfer_queue"] and env["imports"]["verl.trainer.main_ppo"]


# ---- 4. one GRPO update from verl's algorithms ----------------------------------------------------
def test_one_grpo_update_from_verls_algorithms(checks, exports):
    got = result(checks, "grpo_step")
    n = MODELS["presets"]["paper"]["rollouts"]
    assert len(got["rewards"]) == 8 * n and math.isfinite(got["loss"])
    # rollouts scored by the kit's reward through verl: the paper reward of a bare answer is its correctness
    train = pd.read_parquet(export(exports, "structured_cot", "train"))
    by_id = {e["sample_id"]: (r["ground_truth"], list(e["options"])) for r, e in zip(train["reward_model"],
                                                                                       train["extra_info"])}
    for uid, response, reward in zip(got["uids"], got["responses"], got["rewards"]):
        truth, options = by_id[uid]
        assert rewards.extract_answer(response) in options
        assert reward == rewards.score("paper", response, truth, options, **rewards.params_from_spec(MODELS["reward"]))
    # advantages: one per completion, normalised within each prompt's group, ordered as the rewards
    assert got["advantage_constant_per_completion"]
    groups = defaultdict(list)
    for uid, r, a in zip(got["uids"], got["rewards"], got["advantages"]):
        groups[uid].append((r, a))
    assert len(groups) == 8 and all(len(g) == n for g in groups.values())
    varied = 0
    for g in groups.values():
        rs, advs = zip(*g)
        if len(set(rs)) == 1:
            assert all(a == 0 for a in advs)
            continue
        varied += 1
        mean = sum(advs) / n
        sd = math.sqrt(sum((a - mean) ** 2 for a in advs) / (n - 1))
        assert abs(mean) < 1e-6 and sd == pytest.approx(1.0, abs=1e-4)
        assert all((r1 - r2) * (a1 - a2) > 0 for r1, a1 in g for r2, a2 in g if r1 != r2)
    assert varied, "no prompt's group had completions with different rewards: nothing to learn from"
    # the step: to first order it moves the loss by lr * |grad|^2, so with a small step the loss falls and
    # the advantage-weighted log-probability rises: better-rewarded completions gain on the worse ones
    decrease = got["loss"] - got["loss_after"]
    assert 0.8 < decrease / got["predicted_gain"] < 1.25, got
    assert got["objective_gain"] > 0
    weighted = sum(a * (after - before) for a, before, after in zip(got["advantages"], got["logp_before"],
                                                                    got["logp_after"]))
    assert weighted > 0


# ---- 5. the workflow's train_verl job up to verl's GPU check --------------------------------------
@pytest.fixture(scope="module")
def train_verl_started(verl_python, exports, tiny, tmp_path_factory):
    """The workflow's own train_verl job (its params, scripts/train_verl.py, main_ppo) started in a
    copy of the workflow, for a verl model on the tiny model: only the job's inputs (the demo's verl
    exports) are there, and only train_verl may run. It runs beside the other checks (both spend
    much of their time starting processes)."""
    workflow = copy_workflow(tmp_path_factory.mktemp("train-verl") / "wf")
    for split in ("train", "dev"):
        dest = export(workflow, "structured_cot", split)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(export(exports, "structured_cot", split), dest)
    models_file = workflow / "specs/models.yaml"
    models = yaml.safe_load(models_file.read_text())
    models["models"]["tiny-verl"] = {**DEMO_MODEL, "base_model": str(tiny)}
    models_file.write_text(yaml.safe_dump(models, sort_keys=False))
    env = {**verl_env(workflow), VERL_PYTHON_ENV: verl_python}
    with open(workflow / "snakemake.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", f"results/models/{DEMO_RUN}", "--cores", "1",
                                 "--config", "train_models=[tiny-verl]", "--allowed-rules", "train_verl"],
                                cwd=workflow, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    yield proc, workflow
    if proc.poll() is None:  # a failed test left it running: end its process group (main_ppo, Ray)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def train_verl_job(train_verl_started):
    proc, workflow = train_verl_started
    proc.wait(timeout=600)
    log = workflow / f"logs/train/{DEMO_RUN}.log"
    return proc, log.read_text() if log.is_file() else "", workflow


def test_main_ppo_with_the_workflows_overrides_stops_only_at_the_gpu_check(train_verl_job, exports):
    proc, log, workflow = train_verl_job
    assert proc.returncode != 0, "main_ppo cannot train on a machine without GPUs"
    assert "running: " in log, (workflow / "snakemake.out").read_text()[-4000:]
    command = log.split("running: ", 1)[1].splitlines()[0].split()
    # exactly what the job passes: the workflow's data paths, the kit's reward file, Ray's CPUs
    assert command[1:3] == ["-m", "verl.trainer.main_ppo"]
    assert "data.train_files=results/verl/structured_cot/train.parquet" in command
    assert f"reward.custom_reward_function.path={REWARD_FILE}" in command
    assert f"ray_kwargs.ray_init.num_cpus={ray_cpus(1, 8)}" in command
    # every stage before the GPU check accepted what the kit gives it
    assert "[validate_config] All configuration checks passed successfully!" in log
    assert "Started a local Ray instance" in log
    for split in ("train", "dev"):
        rows = len(pd.read_parquet(export(exports, "structured_cot", split), columns=["data_source"]))
        assert f"dataset len: {rows}" in log and f"filter dataset len: {rows}" in log, split
    # and it stopped there, and only there: every exception raised is the GPU check
    # (besides its wrappers: Ray's around the task runner's ValueError, and the job's around main_ppo's exit)
    wrappers = ("ray.exceptions.RayTaskError(ValueError): ", "subprocess.CalledProcessError: ")
    raised = [m.group(1) for m in EXCEPTION_LINE.finditer(log) if not m.group(1).startswith(wrappers)]
    assert raised and all(GPU_CHECK in line for line in raised), raised
    assert not (workflow / f"results/models/{DEMO_RUN}").exists()
    assert not (workflow / "outputs").exists()  # Hydra's run folder is with the checkpoints
    assert list((workflow / "results/checkpoints" / DEMO_RUN).glob("*/hydra/.hydra/overrides.yaml"))

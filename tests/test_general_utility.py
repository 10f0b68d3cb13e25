"""General utility (Table 11) through lm-evaluation-harness: parsing lm-eval's results JSON, the
difference and its CI, the paper's task names in lm-eval's registry, the kit's local task as lm-eval
loads it, spec errors, and the rules end to end on the local task (slow)."""
import copy
import json
import math

import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake

from dvmap.errors import DVMapError, SpecError
from dvmap.evaluate.general_utility import (
    check_general_utility,
    is_local_task,
    listed_option_items,
    lm_eval_arguments,
    parse_results,
    seeds_table,
    task_config,
    task_manager,
    utility_table,
    write_local_task,
)
from dvmap.specs import ROOT, load_spec, read_yaml
from dvmap.stats import Z95, difference_ci

PAPER_SPEC = ROOT / "specs/general_utility_paper.yaml"
PAPER_TASKS = {"mmlu", "arc_easy", "gsm8k", "hellaswag", "ifeval"}

# The shape lm-eval 0.4 writes (results_*.json): groups appear in `results` and `groups`, their sample
# counts only through `group_subtasks`; metric keys are "<metric>,<filter>"; a stderr lm-eval cannot
# compute is "N/A"; `alias`, `name` and `sample_len` are not metrics.
RESULTS = {
    "results": {
        "mmlu": {"acc,none": 0.6012, "acc_stderr,none": 0.0039, "alias": "mmlu"},
        "mmlu_humanities": {"acc,none": 0.55, "acc_stderr,none": 0.0068, "alias": " - humanities"},
        "mmlu_formal_logic": {"alias": "  - formal_logic", "acc,none": 0.4, "acc_stderr,none": 0.0438},
        "mmlu_philosophy": {"alias": "  - philosophy", "acc,none": 0.6, "acc_stderr,none": 0.0278},
        "mmlu_stem": {"acc,none": 0.5, "acc_stderr,none": 0.0087, "alias": " - stem"},
        "mmlu_abstract_algebra": {"alias": "  - abstract_algebra", "acc,none": 0.31, "acc_stderr,none": 0.0465},
        "arc_easy": {"alias": "arc_easy", "acc,none": 0.8131, "acc_stderr,none": 0.0080,
                     "acc_norm,none": 0.7689, "acc_norm_stderr,none": 0.0086},
        "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.7536, "exact_match_stderr,strict-match": 0.0119,
                  "exact_match,flexible-extract": 0.7604, "exact_match_stderr,flexible-extract": 0.0118},
        "hellaswag": {"alias": "hellaswag", "acc,none": 0.5712, "acc_stderr,none": 0.0049,
                      "acc_norm,none": 0.7490, "acc_norm_stderr,none": 0.0043},
        "ifeval": {"name": "ifeval", "alias": "ifeval", "sample_len": 541,
                   "prompt_level_strict_acc,none": 0.8244, "prompt_level_strict_acc_stderr,none": 0.0164,
                   "inst_level_strict_acc,none": 0.8765, "inst_level_strict_acc_stderr,none": "N/A"},
    },
    "groups": {
        "mmlu": {"acc,none": 0.6012, "acc_stderr,none": 0.0039, "alias": "mmlu"},
        "mmlu_humanities": {"acc,none": 0.55, "acc_stderr,none": 0.0068, "alias": " - humanities"},
        "mmlu_stem": {"acc,none": 0.5, "acc_stderr,none": 0.0087, "alias": " - stem"},
    },
    "group_subtasks": {"mmlu_humanities": ["mmlu_formal_logic", "mmlu_philosophy"],
                       "mmlu_stem": ["mmlu_abstract_algebra"], "mmlu": ["mmlu_humanities", "mmlu_stem"],
                       "arc_easy": [], "gsm8k": [], "hellaswag": [], "ifeval": []},
    "n-shot": {"mmlu_formal_logic": 5, "mmlu_philosophy": 5, "mmlu_abstract_algebra": 5, "arc_easy": 0, "gsm8k": 5,
               "hellaswag": 0, "ifeval": 0},
    "higher_is_better": {"mmlu": {"acc": True}, "arc_easy": {"acc": True, "acc_norm": True},
                         "gsm8k": {"exact_match": True}, "hellaswag": {"acc": True, "acc_norm": True},
                         "ifeval": {"prompt_level_strict_acc": True, "inst_level_strict_acc": True}},
    "n-samples": {"mmlu_formal_logic": {"original": 126, "effective": 126},
                  "mmlu_philosophy": {"original": 311, "effective": 311},
                  "mmlu_abstract_algebra": {"original": 100, "effective": 100},
                  "arc_easy": {"original": 2376, "effective": 2376}, "gsm8k": {"original": 1319, "effective": 1319},
                  "hellaswag": {"original": 10042, "effective": 10042}, "ifeval": {"original": 541, "effective": 541}},
    "config": {"model": "vllm", "model_args": {"pretrained": "Qwen/Qwen3-8B"}, "limit": None},
    "lm_eval_version": "0.4.13",
}


def test_parse_lm_eval_results_json():
    rows = parse_results(json.loads(json.dumps(RESULTS)), ["mmlu", "arc_easy", "gsm8k", "hellaswag", "ifeval"])
    key = rows.set_index(["task", "metric", "filter"])
    assert len(rows) == 1 + 2 + 2 + 2 + 2
    assert key.loc[("mmlu", "acc", "none"), "value"] == pytest.approx(0.6012)
    assert key.loc[("mmlu", "acc", "none"), "n"] == 126 + 311 + 100        # a group: the sum of its leaves
    assert key.loc[("gsm8k", "exact_match", "flexible-extract"), "stderr"] == pytest.approx(0.0118)
    assert key.loc[("gsm8k", "exact_match", "strict-match"), "value"] == pytest.approx(0.7536)
    assert math.isnan(key.loc[("ifeval", "inst_level_strict_acc", "none"), "stderr"])   # "N/A"
    assert key.loc[("ifeval", "prompt_level_strict_acc", "none"), "n"] == 541
    assert key.loc[("hellaswag", "acc_norm", "none"), "num_fewshot"] == 0
    assert not rows["metric"].isin(["alias", "name", "sample_len"]).any()


def test_parse_names_the_file_of_a_missing_task():
    with pytest.raises(DVMapError, match=r"raw/tiny/base/demo.json: task 'winogrande' is not in the results"):
        parse_results(RESULTS, ["winogrande"], "raw/tiny/base/demo.json")
    with pytest.raises(DVMapError, match="not an lm-eval results file"):
        parse_results({"acc": 1.0}, ["mmlu"], "x.json")


def runs_frame(base, seeds, task="arc_easy", metric="acc", n=2376):
    """Parsed runs of one pair: base (value, stderr) and DVMap seeds [(value, stderr), ...]."""
    rows = [{"pair": "qwen3-8b", "side": "base", "run": "base", "task_set": "zero_shot", "value": base[0],
             "stderr": base[1]}]
    rows += [{"pair": "qwen3-8b", "side": "dvmap", "run": f"qwen3-8b__s{i}", "task_set": "zero_shot", "value": v,
              "stderr": s} for i, (v, s) in enumerate(seeds)]
    return pd.DataFrame(rows).assign(task=task, metric=metric, filter="none", n=n, higher_is_better=True,
                                     num_fewshot=0)


def test_difference_and_ci_on_known_numbers():
    diff, low, high = difference_ci(0.60, 0.03, [0.62], [0.04])
    assert diff == pytest.approx(0.02)
    assert (low, high) == pytest.approx((0.02 - Z95 * 0.05, 0.02 + Z95 * 0.05))   # sqrt(.03^2 + .04^2) = .05
    table = utility_table(runs_frame((0.60, 0.03), [(0.61, 0.03), (0.63, 0.05)]), tolerance=0.005)
    row = table.iloc[0]
    assert (row["base"], row["dvmap"], row["dvmap_stderr"]) == pytest.approx((0.60, 0.62, 0.04))
    assert row["dvmap_seed_sd"] == pytest.approx(math.sqrt(2) * 0.01)
    # sampling: 1.96 x .05; seeds: t(.975, 1) = 12.7062 x sd .014142 / sqrt(2) = .127062; in quadrature
    half = math.hypot(Z95 * 0.05, 12.706204736 * 0.01)
    assert (row["diff"], row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((0.02, 0.02 - half, 0.02 + half))
    assert row["n"] == 2376 and row["n_seeds"] == 2 and not row["within_tolerance"]
    close = utility_table(runs_frame((0.600, 0.01), [(0.604, 0.01)]), tolerance=0.005).iloc[0]
    assert close["diff"] == pytest.approx(0.004) and close["within_tolerance"] and math.isnan(close["dvmap_seed_sd"])
    assert (close["diff_ci_low"], close["diff_ci_high"]) == pytest.approx((0.004 - Z95 * math.sqrt(2) * 0.01,
                                                                          0.004 + Z95 * math.sqrt(2) * 0.01))


def test_table_keeps_every_seed_and_rejects_mismatched_runs():
    runs = runs_frame((0.60, 0.03), [(0.61, 0.03), (0.63, 0.05)])
    seeds = seeds_table(runs)
    assert seeds["run"].tolist() == ["base", "qwen3-8b__s0", "qwen3-8b__s1"]
    different_items = runs.assign(n=[2376, 2376, 1000])
    with pytest.raises(DVMapError, match="different item counts"):
        utility_table(different_items, 0.005)
    with pytest.raises(DVMapError, match="need one base run"):
        utility_table(runs[runs["side"] == "dvmap"], 0.005)


@pytest.fixture(scope="module")
def lm_eval_registry():
    """lm-eval's own task registry (its shipped task YAMLs, indexed offline)."""
    from lm_eval.tasks import TaskManager

    return TaskManager()


def test_paper_task_names_are_in_lm_evals_registry(lm_eval_registry):
    spec = load_spec("general_utility", PAPER_SPEC)
    declared = {t for task_set in spec["task_sets"].values() for t in task_set["tasks"]}
    assert declared == PAPER_TASKS
    missing = declared - set(lm_eval_registry.all_tasks)
    assert not missing, f"lm-eval's registry does not know {missing}"
    assert "mmlu" in lm_eval_registry.all_groups
    demo = load_spec("general_utility", ROOT / "specs/general_utility.yaml")
    assert all(is_local_task(t) for t in demo["local_tasks"])
    assert not [t for t in lm_eval_registry.all_tasks if is_local_task(t)]  # local names never shadow lm-eval's


def option_lists():
    return [q["options"] for q in read_yaml(ROOT / "specs/questions.yaml")["questions"]]


def toy_corpus(n=60):
    lists = option_lists()
    samples = pd.DataFrame({"sample_id": [f"s{i:03d}" for i in range(n)], "q_id": [f"Q{i % 5}" for i in range(n)],
                            "options": [lists[i % 5] for i in range(n)]})
    prompts = pd.DataFrame({"sample_id": samples["sample_id"], "system": "SYS",
                            "prompt": [f"question {i}: pick one of {', '.join(lists[i % 5])}" for i in range(n)]})
    return samples, prompts


def test_listed_option_items_are_deterministic_and_well_formed():
    samples, prompts = toy_corpus()
    items = listed_option_items(samples, prompts, option_lists(), n_items=40, n_choices=4, seed=3)
    assert items == listed_option_items(samples.sample(frac=1, random_state=1), prompts, option_lists(), 40, 4, 3)
    assert len(items) == 40 and len({i["sample_id"] for i in items}) == 40
    by_id = samples.set_index("sample_id")["options"]
    for item in items:
        listed = list(by_id[item["sample_id"]])
        assert item["choices"][item["label"]] == f"<answer>{item['gold_option']}</answer>"
        assert item["gold_option"] in listed and len(set(item["choices"])) == 4
        wrong = [c for j, c in enumerate(item["choices"]) if j != item["label"]]
        assert all(c.removeprefix("<answer>").removesuffix("</answer>") not in listed for c in wrong)
    assert len({i["label"] for i in items}) == 4  # the gold's position varies


def test_local_task_is_what_lm_eval_loads(tmp_path, monkeypatch):
    """The task YAML + JSONL the kit writes, registered through include_path, read by lm-eval itself."""
    monkeypatch.chdir(tmp_path)
    samples, prompts = toy_corpus()
    items = listed_option_items(samples, prompts, option_lists(), 25, 4, 0)
    files = {"yaml": "tasks/dvmap_listed_option/dvmap_listed_option.yaml",  # as rules/general_utility.smk names them
             "data": "tasks/dvmap_listed_option/items.jsonl"}
    spec = {"kind": "listed_option", "split": "test", "template": "structured_cot", "n_items": 25, "n_choices": 4,
            "seed": 0}
    write_local_task(items, task_config("dvmap_listed_option", files["data"], spec), files["yaml"], files["data"])
    manager = task_manager(["dvmap_listed_option"], [str(tmp_path / files["yaml"]).rsplit("/", 1)[0]])
    task = manager.load(["dvmap_listed_option"])["tasks"]["dvmap_listed_option"]
    docs = list(task.test_docs())
    assert len(docs) == 25 and task.OUTPUT_TYPE == "multiple_choice"
    assert task.doc_to_choice(docs[7]) == items[7]["choices"] and task.doc_to_target(docs[7]) == items[7]["label"]
    assert task.doc_to_text(docs[7]) == items[7]["prompt"]
    with pytest.raises(DVMapError, match="does not know the tasks"):
        task_manager(["dvmap_absent"], [str(tmp_path / files["yaml"]).rsplit("/", 1)[0]])


def test_lm_eval_arguments_from_the_spec():
    spec = load_spec("general_utility", ROOT / "specs/general_utility.yaml")
    args = lm_eval_arguments(spec["pairs"]["tiny"], spec["task_sets"]["demo"], "results/models/tiny")
    assert args == {"model": "hf", "model_args": {"pretrained": "results/models/tiny", "dtype": "float32"},
                    "tasks": ["dvmap_listed_option"], "num_fewshot": 0, "limit": None, "batch_size": 32,
                    "apply_chat_template": True, "fewshot_as_multiturn": True, "log_samples": False, "device": "cpu"}
    paper = load_spec("general_utility", PAPER_SPEC)
    args = lm_eval_arguments(paper["pairs"]["qwen3-8b"], paper["task_sets"]["mmlu"], "Qwen/Qwen3-8B")
    assert args["model"] == "vllm" and args["num_fewshot"] == 5 and args["model_args"]["enable_thinking"] is False


# ---- spec errors -------------------------------------------------------------------------------
def specs_with(specs, change):
    specs = copy.deepcopy(specs)
    change(specs["general_utility"])
    return specs


PATHS = {"general_utility": "specs/general_utility.yaml", "models": "specs/models.yaml"}
CROSS_CASES = [
    (lambda s: s["pairs"]["tiny"].update(dvmap="tiny-9000"), "pairs/tiny/dvmap", "unknown model 'tiny-9000'"),
    (lambda s: s["pairs"]["tiny"].update(base={"base_of": "qwen3-8b"}), "pairs/tiny/base/base_of",
     "not a local model"),
    (lambda s: s["pairs"]["tiny"]["task_sets"].append("reasoning"), "pairs/tiny/task_sets/1",
     "unknown task set 'reasoning'"),
    (lambda s: s["task_sets"]["demo"]["tasks"].append("dvmap_absent"), "task_sets/demo/tasks/1",
     "unknown local task 'dvmap_absent'"),
    (lambda s: s["task_sets"]["demo"].update(num_fewshot=5), "task_sets/demo/num_fewshot", "zero-shot"),
    (lambda s: s["local_tasks"]["dvmap_listed_option"].update(template="nope"),
     "local_tasks/dvmap_listed_option/template", "unknown template 'nope'"),
]


@pytest.mark.parametrize("change,key_path,message", CROSS_CASES, ids=[c[1] for c in CROSS_CASES])
def test_cross_spec_errors_name_file_and_key(specs, change, key_path, message):
    with pytest.raises(SpecError) as err:
        check_general_utility(specs_with(specs, change), {**PATHS, "prompts": "specs/prompts.yaml"})
    assert (err.value.file, err.value.key_path) == ("specs/general_utility.yaml", key_path)
    assert message in str(err.value)


SCHEMA_CASES = [
    (lambda s: s["pairs"]["tiny"].update(backend="llamacpp"), "pairs/tiny/backend", "is not one of ['hf', 'vllm']"),
    (lambda s: s["pairs"]["tiny"].update(model_args={"pretrained": "x"}), "pairs/tiny/model_args",
     "should not be valid"),
    (lambda s: s["task_sets"]["demo"].update(shots=5), "task_sets/demo", "Additional properties"),
    (lambda s: s["local_tasks"].update(listed={**s["local_tasks"]["dvmap_listed_option"]}), "local_tasks",
     "does not match"),
]


@pytest.mark.parametrize("change,key_path,message", SCHEMA_CASES, ids=[c[1] for c in SCHEMA_CASES])
def test_schema_errors_name_file_and_key(tmp_path, change, key_path, message):
    spec = read_yaml(ROOT / "specs/general_utility.yaml")
    change(spec)
    path = tmp_path / "general_utility.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as err:
        load_spec("general_utility", path)
    assert (err.value.file, err.value.key_path) == (str(path), key_path)
    assert message in str(err.value)


def test_paper_preset_passes_the_cross_spec_checks(specs):
    specs = copy.deepcopy(specs)
    specs["general_utility"] = load_spec("general_utility", PAPER_SPEC)
    check_general_utility(specs, {**PATHS, "prompts": "specs/prompts.yaml"})
    assert set(specs["general_utility"]["pairs"]) == {"qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b",
                                                      "llama-3.2-3b"}


def test_a_bad_spec_stops_snakemake_before_any_job(tmp_path):
    workflow = copy_workflow(tmp_path / "wf")
    spec = read_yaml(workflow / "specs/general_utility.yaml")
    spec["pairs"]["tiny"]["dvmap"] = "tiny-9000"
    (workflow / "specs/general_utility.yaml").write_text(yaml.safe_dump(spec))
    proc = snakemake(workflow, "-n", "results/table11.csv", check=False)
    assert proc.returncode != 0
    assert "specs/general_utility.yaml: pairs/tiny/dvmap: unknown model 'tiny-9000'" in proc.stdout + proc.stderr


# ---- end to end ----------------------------------------------------------------------------------
def shrink_demo(workflow, n_items):
    """A faster demo in the scratch copy: fewer warm-up and GRPO steps, fewer local-task items."""
    models = read_yaml(workflow / "specs/models.yaml")
    local = models["models"]["tiny"]["local"]
    local["warmup"]["steps"] = 30
    local["grpo"].update(steps=2, eval_steps=2, save_steps=2, eval_samples=16, select_min_valid=0.0)
    (workflow / "specs/models.yaml").write_text(yaml.safe_dump(models, allow_unicode=True, sort_keys=False))
    experiments = read_yaml(workflow / "specs/experiments.yaml")
    experiments["seeds"] = [0, 1]  # two GRPO seeds: the DVMap value is their mean
    (workflow / "specs/experiments.yaml").write_text(yaml.safe_dump(experiments, allow_unicode=True, sort_keys=False))
    spec = read_yaml(workflow / "specs/general_utility.yaml")
    spec["local_tasks"]["dvmap_listed_option"]["n_items"] = n_items
    (workflow / "specs/general_utility.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))


@pytest.mark.slow
def test_table11_end_to_end_on_the_local_task(tmp_path):
    workflow = copy_workflow(tmp_path / "wf")
    shrink_demo(workflow, n_items=120)
    snakemake(workflow, "results/table11.csv")
    table = pd.read_csv(workflow / "results/table11.csv")
    seeds = pd.read_csv(workflow / "results/table11_seeds.csv")
    assert table[["pair", "task", "metric", "filter"]].values.tolist() == [
        ["tiny", "dvmap_listed_option", "acc", "none"], ["tiny", "dvmap_listed_option", "acc_norm", "none"]]
    assert (table["n"] == 120).all()
    assert table["base"].between(0, 1).all() and table["dvmap"].between(0, 1).all()
    assert (table["diff_ci_low"] < table["diff"]).all() and (table["diff"] < table["diff_ci_high"]).all()
    assert (table["dvmap"] - table["base"]).tolist() == pytest.approx(table["diff"].tolist())
    # The table is lm-eval's numbers: each value is in the raw results JSON the eval job wrote.
    dvmap_runs = seeds[seeds["side"] == "dvmap"]["run"].unique().tolist()
    assert dvmap_runs == ["tiny__s0", "tiny__s1"] and (table["n_seeds"] == 2).all()
    dvmap_mean = seeds[seeds["side"] == "dvmap"].groupby("metric")["value"].mean()
    assert table.set_index("metric")["dvmap"].to_dict() == pytest.approx(dvmap_mean.to_dict())
    for run in ["base", *dvmap_runs]:
        raw = json.loads((workflow / f"results/general_utility/raw/tiny/{run}/demo.json").read_text())
        assert raw["config"]["model"] == "hf" and raw["n-samples"]["dvmap_listed_option"]["effective"] == 120
        for row in seeds[seeds["run"] == run].itertuples():
            assert raw["results"]["dvmap_listed_option"][f"{row.metric},none"] == pytest.approx(row.value)
    items = (workflow / "results/general_utility/tasks/dvmap_listed_option/items.jsonl").read_text().splitlines()
    assert len(items) == 120
    assert (workflow / "benchmarks/general_utility/tiny_base_demo.tsv").is_file()


@pytest.mark.slow
def test_paper_preset_dry_run_has_one_lm_eval_job_per_model_and_task_set(tmp_path):
    workflow = copy_workflow(tmp_path / "wf")
    proc = snakemake(workflow, "-n", "results/table11.csv", "--profile", "profiles/slurm", "--configfile",
                     "specs/presets/paper.yaml")
    blocks = proc.stdout.split("rule general_utility_eval:")[1:]
    outputs = {block.split("output: ")[1].split("\n")[0] for block in blocks}
    paper = load_spec("general_utility", PAPER_SPEC)
    seeds = read_yaml(workflow / "specs/experiments.yaml")["seeds"]
    expected = {f"results/general_utility/raw/{pair}/{run}/{task_set}.json"
                for pair, spec in paper["pairs"].items()
                for run in ["base", *(f"{spec['dvmap']}__s{s}" for s in seeds)] for task_set in spec["task_sets"]}
    assert outputs == expected and len(expected) == 5 * (1 + len(seeds)) * 4
    assert all("gpu=1" in block.split("resources: ")[1].split("\n")[0] for block in blocks)
    assert "rule train_verl:" in proc.stdout  # DVMap's side waits for its GRPO runs

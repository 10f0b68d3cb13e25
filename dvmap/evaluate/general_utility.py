"""General utility (Table 11): base vs DVMap on general benchmarks through lm-evaluation-harness.

The kit writes its local multiple-choice tasks (task YAML + JSONL items, registered with lm-eval
through `include_path`), builds lm-eval's `simple_evaluate` arguments from the spec, parses
lm-eval's results JSON into one row per (task, metric, filter), and puts base and DVMap side by
side: DVMap is the mean over its seeds, the difference has a stderr-based 95% CI."""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from dvmap.errors import DVMapError, SpecError
from dvmap.stats import difference_ci

LOCAL_PREFIX = "dvmap_"
BASE_RUN = "base"
ROW_KEYS = ["pair", "task", "metric", "filter"]
TABLE11_COLUMNS = [*ROW_KEYS, "n", "num_fewshot", "higher_is_better", "base", "base_stderr", "dvmap", "dvmap_stderr",
                   "n_seeds", "dvmap_seed_sd", "diff", "diff_ci_low", "diff_ci_high", "within_tolerance", "tolerance"]


# ---- spec ---------------------------------------------------------------------------------------
def check_general_utility(specs: Mapping[str, dict], paths: Mapping[str, str]) -> None:
    """Cross-spec checks of the general utility spec: models of specs/models.yaml, task sets,
    local tasks (zero-shot only: their files have no few-shot split), templates of specs/prompts.yaml."""
    spec, file = specs["general_utility"], paths["general_utility"]
    models = specs["models"]["models"]
    for name, pair in spec["pairs"].items():
        where = f"pairs/{name}"
        if pair["dvmap"] not in models:
            raise SpecError(file, f"{where}/dvmap", f"unknown model '{pair['dvmap']}' (models of {paths['models']}: "
                                                    f"{sorted(models)})")
        base_of = pair["base"].get("base_of")
        if base_of is not None:
            if base_of not in models:
                raise SpecError(file, f"{where}/base/base_of", f"unknown model '{base_of}' (see {paths['models']})")
            if models[base_of]["backend"] != "local":
                raise SpecError(file, f"{where}/base/base_of",
                                f"'{base_of}' is not a local model: give its base as hub: <id>")
        for i, task_set in enumerate(pair["task_sets"]):
            if task_set not in spec["task_sets"]:
                raise SpecError(file, f"{where}/task_sets/{i}", f"unknown task set '{task_set}' "
                                                                f"(have {sorted(spec['task_sets'])})")
    for name, task_set in spec["task_sets"].items():
        for i, task in enumerate(task_set["tasks"]):
            if not task.startswith(LOCAL_PREFIX):
                continue
            if task not in spec["local_tasks"]:
                raise SpecError(file, f"task_sets/{name}/tasks/{i}", f"unknown local task '{task}' "
                                                                     f"(have {sorted(spec['local_tasks'])})")
            if task_set["num_fewshot"]:
                raise SpecError(file, f"task_sets/{name}/num_fewshot",
                                f"local task '{task}' is zero-shot (its files have no few-shot split)")
    templates = specs["prompts"]["templates"]
    for name, task in spec["local_tasks"].items():
        if task["template"] not in templates:
            raise SpecError(file, f"local_tasks/{name}/template", f"unknown template '{task['template']}' "
                                                                  f"(have {sorted(templates)})")


def is_local_task(task: str) -> bool:
    return task.startswith(LOCAL_PREFIX)


# ---- local tasks --------------------------------------------------------------------------------
def answer_choice(option: str) -> str:
    return f"<answer>{option}</answer>"


def listed_option_items(samples: pd.DataFrame, prompts: pd.DataFrame, option_lists: Sequence[Sequence[str]],
                        n_items: int, n_choices: int, seed: int) -> list[dict]:
    """Multiple-choice items: a held-out prompt (system + user message) and `n_choices` answers
    `<answer>X</answer>`, one with an option the prompt lists (drawn at random, not the survey answer)
    and the others with options of other questions (`option_lists`) that the prompt does not list.
    Deterministic for a given seed; at most `n_items` samples, drawn without replacement."""
    merged = samples[["sample_id", "q_id", "options"]].merge(prompts[["sample_id", "system", "prompt"]],
                                                             on="sample_id", validate="one_to_one")
    if len(merged) != len(samples):
        raise DVMapError(f"prompts cover {len(merged)} of {len(samples)} samples")
    merged = merged.sort_values("sample_id", kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(merged), size=min(n_items, len(merged)), replace=False))
    every_option = sorted({o for options in option_lists for o in options})
    items = []
    for i in chosen:
        row = merged.iloc[int(i)]
        listed = [str(o) for o in row["options"]]
        pool = [o for o in every_option if o not in listed]
        if len(pool) < n_choices - 1:
            raise DVMapError(f"question {row['q_id']}: only {len(pool)} options of other questions for "
                             f"{n_choices - 1} distractors")
        gold = listed[int(rng.integers(len(listed)))]
        distractors = [pool[j] for j in rng.choice(len(pool), size=n_choices - 1, replace=False)]
        options = [gold, *distractors]
        order = rng.permutation(n_choices)
        items.append({"id": len(items), "sample_id": str(row["sample_id"]), "q_id": str(row["q_id"]),
                      "system": str(row["system"]), "prompt": str(row["prompt"]),
                      "choices": [answer_choice(options[j]) for j in order],
                      "label": int(np.flatnonzero(order == 0)[0]), "gold_option": gold})
    return items


def task_config(name: str, data_file: str, spec: Mapping[str, Any]) -> dict:
    """lm-eval task config of a local multiple-choice task. `data_file` is relative to the
    workflow directory (where Snakemake and lm-eval run). `description` is the doc's system message:
    lm-eval puts it in a system turn under a chat template and before the text otherwise."""
    return {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": data_file}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "description": "system",
        "doc_to_text": "prompt",
        "doc_to_choice": "choices",
        "doc_to_target": "label",
        "target_delimiter": "",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True},
                        {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0, **{k: spec[k] for k in sorted(spec)}},
    }


def write_local_task(items: Sequence[Mapping], config: Mapping, yaml_path: str | Path, data_path: str | Path) -> None:
    """Write the items (one JSON object a line) and the task YAML lm-eval reads from include_path."""
    for path, text in ((Path(data_path), "".join(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n"
                                                 for item in items)),
                       (Path(yaml_path), "# Written by the DVMap kit (dvmap/evaluate/general_utility.py); paths are relative "
                                         "to the workflow directory.\n"
                                         + yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True))):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


# ---- lm-eval ------------------------------------------------------------------------------------
def lm_eval_arguments(pair: Mapping[str, Any], task_set: Mapping[str, Any], pretrained: str) -> dict:
    """Keyword arguments of `lm_eval.simple_evaluate` for one model on one task set."""
    arguments = {
        "model": pair["backend"],
        "model_args": {"pretrained": pretrained, **pair.get("model_args", {})},
        "tasks": list(task_set["tasks"]),
        "num_fewshot": task_set["num_fewshot"],
        "limit": task_set["limit"],
        "batch_size": pair["batch_size"],
        "apply_chat_template": task_set["apply_chat_template"],
        "fewshot_as_multiturn": task_set.get("fewshot_as_multiturn", task_set["apply_chat_template"]),
        "log_samples": False,
    }
    if "device" in pair:
        arguments["device"] = pair["device"]
    if "gen_kwargs" in task_set:
        arguments["gen_kwargs"] = dict(task_set["gen_kwargs"])
    if "bootstrap_iters" in task_set:
        arguments["bootstrap_iters"] = task_set["bootstrap_iters"]
    if "seed" in task_set:
        seed = task_set["seed"]
        arguments.update(random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed)
    return arguments


def task_manager(tasks: Sequence[str], include_paths: Sequence[str]):
    """lm-eval's TaskManager with the kit's local task folders; the built-in registry is indexed
    only when a task is not local (indexing all of it takes tens of seconds)."""
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=[str(p) for p in include_paths] or None,
                          include_defaults=not all(is_local_task(t) for t in tasks))
    unknown = [t for t in tasks if t not in manager.all_tasks]
    if unknown:
        raise DVMapError(f"lm-eval does not know the tasks {unknown}")
    return manager


def run_lm_eval(arguments: Mapping[str, Any], include_paths: Sequence[str]) -> dict:
    """Run lm-eval (`simple_evaluate`) and return its results dict."""
    import lm_eval

    manager = task_manager(arguments["tasks"], include_paths)
    results = lm_eval.simple_evaluate(task_manager=manager, **arguments)
    if results is None:
        raise DVMapError("lm-eval returned no results")
    return results


def write_results(results: Mapping, path: str | Path) -> None:
    """lm-eval's results JSON, serialised as lm-eval's own tracker does."""
    from lm_eval.utils import handle_non_serializable

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    tmp.replace(path)


# ---- parsing ------------------------------------------------------------------------------------
def _number(value: Any) -> float:
    """A metric or stderr value; lm-eval writes "N/A" where it has none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def task_size(results: Mapping, task: str, _seen: frozenset = frozenset()) -> int:
    """Items lm-eval evaluated for a task (`n-samples` effective); for a group, the sum over its
    subtasks (`group_subtasks`, recursively)."""
    counts = results.get("n-samples", {})
    if task in counts:
        return int(counts[task]["effective"])
    subtasks = results.get("group_subtasks", {}).get(task)
    if not subtasks or task in _seen:
        raise DVMapError(f"lm-eval's results have no sample count for '{task}'")
    return sum(task_size(results, s, _seen | {task}) for s in subtasks)


def parse_results(results: Mapping, tasks: Sequence[str], source: str = "lm-eval results") -> pd.DataFrame:
    """One row per (task, metric, filter) of lm-eval's results JSON, for the requested tasks (or
    groups): value, stderr (NaN where lm-eval has "N/A"), n, higher_is_better, num_fewshot."""
    if "results" not in results:
        raise DVMapError(f"{source}: not an lm-eval results file (no 'results' key)")
    rows = []
    for task in tasks:
        entry = results["results"].get(task) or results.get("groups", {}).get(task)
        if entry is None:
            raise DVMapError(f"{source}: task '{task}' is not in the results (have {sorted(results['results'])})")
        n = task_size(results, task)
        better = results.get("higher_is_better", {}).get(task, {})
        for key, value in entry.items():
            if "," not in key or "_stderr," in key:
                continue
            metric, filter_name = key.split(",", 1)
            if math.isnan(_number(value)):
                continue
            rows.append({"task": task, "metric": metric, "filter": filter_name, "value": _number(value),
                         "stderr": _number(entry.get(f"{metric}_stderr,{filter_name}")), "n": n,
                         "higher_is_better": better.get(metric), "num_fewshot": results.get("n-shot", {}).get(task)})
        if not any(r["task"] == task for r in rows):
            raise DVMapError(f"{source}: task '{task}' has no numeric metric")
    return pd.DataFrame(rows, columns=["task", "metric", "filter", "value", "stderr", "n", "higher_is_better",
                                       "num_fewshot"])


# ---- table --------------------------------------------------------------------------------------
def utility_table(runs: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Table 11 from the parsed runs (columns pair, side (`base`/`dvmap`), run, task, metric,
    filter, value, stderr, n, higher_is_better, num_fewshot): per (pair, task, metric, filter) the
    base, DVMap = the mean over its runs (seeds) with their mean stderr and their standard deviation,
    the difference with its 95% CI (dvmap.stats.difference_ci) and whether |difference| <= tolerance."""
    rows = []
    for key, group in runs.groupby(ROW_KEYS, sort=False):
        where = "/".join(str(k) for k in key)
        base, dvmap = group[group["side"] == "base"], group[group["side"] == "dvmap"]
        if len(base) != 1 or dvmap.empty:
            raise DVMapError(f"{where}: need one base run and at least one DVMap run, have {len(base)} and {len(dvmap)}")
        if set(dvmap["n"]) != set(base["n"]):
            raise DVMapError(f"{where}: base and DVMap were scored on different item counts "
                             f"({sorted(set(base['n']))} vs {sorted(set(dvmap['n']))})")
        b, b_se = float(base["value"].iloc[0]), float(base["stderr"].iloc[0])
        diff, low, high = difference_ci(b, b_se, dvmap["value"].tolist(), dvmap["stderr"].tolist())
        rows.append({**dict(zip(ROW_KEYS, key)), "n": int(base["n"].iloc[0]),
                     "num_fewshot": base["num_fewshot"].iloc[0], "higher_is_better": base["higher_is_better"].iloc[0],
                     "base": b, "base_stderr": b_se, "dvmap": float(dvmap["value"].mean()),
                     "dvmap_stderr": float(dvmap["stderr"].mean()), "n_seeds": len(dvmap),
                     "dvmap_seed_sd": float(dvmap["value"].std(ddof=1)) if len(dvmap) > 1 else math.nan,
                     "diff": diff, "diff_ci_low": low, "diff_ci_high": high,
                     "within_tolerance": bool(abs(diff) <= tolerance + 1e-12), "tolerance": tolerance})
    return pd.DataFrame(rows, columns=TABLE11_COLUMNS)


def seeds_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run's value (base and each DVMap seed), for results/table11_seeds.csv."""
    columns = ["pair", "side", "run", "task_set", "task", "metric", "filter", "value", "stderr", "n", "num_fewshot"]
    return runs[columns].sort_values(["pair", "task", "metric", "filter", "side", "run"], kind="stable")

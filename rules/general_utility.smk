# General utility (Table 11): base and DVMap models through lm-evaluation-harness (lm-eval), one job
# per (model run, task set); specs/general_utility.yaml declares the pairs, task sets and the kit's
# local tasks. lm-eval's raw results JSON is the job's output; results/table11.csv is parsed from it.


from dvmap.evaluate.general_utility import (
    BASE_RUN,
    is_local_task,
    lm_eval_arguments,
    local_task_files,
    raw_results_path,
)

GU = SPECS["general_utility"]
GU_PAIRS = GU["pairs"]


def get_dvmap_trained_dirs(model):
    """The trained folders of one DVMap model (a model of specs/models.yaml), one per seed: the main
    recipe's runs, results/models/{model}__s{seed} for the seeds of specs/experiments.yaml, as `all`
    trains them. Each is evaluated on its own (a run is named after its folder); Table 11's DVMap
    value is the mean over them and the per-seed values go to results/table11_seeds.csv. Before the
    seeds existed this returned [f"results/models/{model}"]; to evaluate other folders (a variant's
    runs, say), change only this function."""
    return [f"results/models/{name}" for name in run_names(model, MAIN, SEEDS)]


def _gu_runs(pair):
    """Run names of a pair: `base`, then each trained folder's name."""
    return [BASE_RUN, *(Path(d).name for d in get_dvmap_trained_dirs(GU_PAIRS[pair]["dvmap"]))]


def _gu_pretrained(pair, run):
    """What lm-eval loads: a local folder or, for a hub base, the hub id."""
    spec = GU_PAIRS[pair]
    if run == BASE_RUN:
        base = spec["base"]
        return f"results/models/{base['base_of']}-base" if "base_of" in base else base["hub"]
    dirs = {Path(d).name: d for d in get_dvmap_trained_dirs(spec["dvmap"])}
    if run not in dirs:
        raise ValueError(f"{run} is not a trained folder of {spec['dvmap']} (have {sorted(dirs)})")
    return dirs[run]


def get_gu_weights(wildcards):
    """The run's local weights (none for a hub base)."""
    base = GU_PAIRS[wildcards.gu_pair]["base"]
    if wildcards.gu_run == BASE_RUN and "hub" in base:
        return []
    return [_gu_pretrained(wildcards.gu_pair, wildcards.gu_run)]


def _gu_local_tasks(wildcards):
    return [t for t in GU["task_sets"][wildcards.gu_task_set]["tasks"] if is_local_task(t)]


def get_gu_task_yamls(wildcards):
    return [local_task_files(t)["yaml"] for t in _gu_local_tasks(wildcards)]


def get_gu_task_data(wildcards):
    return [local_task_files(t)["data"] for t in _gu_local_tasks(wildcards)]


def get_gu_arguments(wildcards):
    """lm_eval.simple_evaluate's arguments for this run and task set (the spec's slice)."""
    return lm_eval_arguments(
        GU_PAIRS[wildcards.gu_pair],
        GU["task_sets"][wildcards.gu_task_set],
        _gu_pretrained(wildcards.gu_pair, wildcards.gu_run),
    )


def get_gu_gpus(wildcards):
    return GU_PAIRS[wildcards.gu_pair].get("gpus", 0)


def get_gu_runtime(wildcards):
    return GU_PAIRS[wildcards.gu_pair].get("runtime", 60)


def get_gu_local_task(wildcards):
    return GU["local_tasks"][wildcards.gu_task]


def get_gu_task_inputs(wildcards):
    task = GU["local_tasks"][wildcards.gu_task]
    return {
        "samples": dataset_path(task["split"]),
        "prompts": f"results/prompts/{task['template']}/{task['split']}.parquet",
    }


def get_gu_option_lists(wildcards=None):
    """Option lists of every question of specs/questions.yaml (the distractor pool)."""
    return [list(q["options"]) for q in SPECS["questions"]["questions"]]


def get_gu_runs(wildcards=None):
    """Every (pair, side, run, task set, tasks, raw results file) of Table 11."""
    runs = []
    for pair, spec in GU_PAIRS.items():
        for run in _gu_runs(pair):
            for task_set in spec["task_sets"]:
                runs.append(
                    {
                        "pair": pair,
                        "side": "base" if run == BASE_RUN else "dvmap",
                        "run": run,
                        "task_set": task_set,
                        "tasks": list(GU["task_sets"][task_set]["tasks"]),
                        "path": raw_results_path(pair, run, task_set),
                    }
                )
    return runs


def get_gu_raw_results(wildcards=None):
    return [r["path"] for r in get_gu_runs()]


def get_general_utility_targets():
    return ["results/table11.csv", "results/table11_seeds.csv"]


wildcard_constraints:
    gu_pair="|".join(re.escape(p) for p in GU_PAIRS) or "no-pair",
    gu_task_set="|".join(re.escape(t) for t in GU["task_sets"]) or "no-task-set",
    gu_task="|".join(re.escape(t) for t in GU["local_tasks"]) or "no-local-task",
    gu_run="[^/]+",


localrules:
    table11,


rule general_utility_task:
    """Write one of the kit's local lm-eval tasks (task YAML + JSONL items) from held-out prompts."""
    input:
        unpack(get_gu_task_inputs),
    output:
        yaml="results/general_utility/tasks/{gu_task}/{gu_task}.yaml",
        data="results/general_utility/tasks/{gu_task}/items.jsonl",
    log:
        "logs/general_utility/task_{gu_task}.log",
    benchmark:
        "benchmarks/general_utility/task_{gu_task}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        task=get_gu_local_task,
        option_lists=get_gu_option_lists,
    script:
        "../scripts/general_utility_task.py"


rule general_utility_eval:
    """lm-eval (simple_evaluate) on one model run (`base` or a trained folder) and one task set."""
    input:
        weights=get_gu_weights,
        task_yamls=get_gu_task_yamls,
        task_data=get_gu_task_data,
    output:
        "results/general_utility/raw/{gu_pair}/{gu_run}/{gu_task_set}.json",
    log:
        "logs/general_utility/{gu_pair}_{gu_run}_{gu_task_set}.log",
    benchmark:
        "benchmarks/general_utility/{gu_pair}_{gu_run}_{gu_task_set}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 2
    resources:
        gpu=get_gu_gpus,
        runtime=get_gu_runtime,
    params:
        arguments=get_gu_arguments,
    script:
        "../scripts/general_utility_eval.py"


rule table11:
    """Table 11: per pair, task and metric the base, DVMap (mean over seeds), difference, 95% CI, n."""
    input:
        get_gu_raw_results,
    output:
        table=reported("results/table11.csv", "tables/table11", "general_utility"),
        seeds=reported("results/table11_seeds.csv", "tables/table11_seeds", "general_utility"),
    log:
        "logs/general_utility/table11.log",
    benchmark:
        "benchmarks/general_utility/table11.tsv"
    conda:
        "../envs/data.yaml"
    params:
        runs=get_gu_runs,
        tolerance=GU["tolerance"],
    script:
        "../scripts/general_utility_table.py"

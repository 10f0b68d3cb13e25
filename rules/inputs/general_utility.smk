# Input functions and settings of the rules in rules/general_utility.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


from dvmap.evaluate.general_utility import BASE_RUN, is_local_task, lm_eval_arguments

GU = SPECS["general_utility"]


GU_PAIRS = GU["pairs"]


def get_dvmap_trained_dirs(model):
    """The trained folders of one DVMap model (a model of specs/models.yaml), one per seed: the main
    recipe's runs, results/models/{model}__s{seed} for the seeds of specs/experiments.yaml, as `all`
    trains them. Each is evaluated on its own (a run is named after its folder); Table 11's DVMap
    value is the mean over them and the per-seed values go to results/table11_seeds.csv. To evaluate
    other folders (a variant's runs, say), change only this function."""
    return [trained_model_dir(name) for name in run_names(model, MAIN, SEEDS)]


def _gu_runs(pair):
    """Run names of a pair: `base`, then each trained folder's name."""
    return [BASE_RUN, *(Path(d).name for d in get_dvmap_trained_dirs(GU_PAIRS[pair]["dvmap"]))]


def _gu_pretrained(pair, run):
    """What lm-eval loads: a local folder or, for a hub base, the hub id."""
    spec = GU_PAIRS[pair]
    if run == BASE_RUN:
        base = spec["base"]
        return base_model_dir(base["base_of"]) if "base_of" in base else base["hub"]
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
    return expand(rules.general_utility_task.output.yaml, gu_task=_gu_local_tasks(wildcards))


def get_gu_task_data(wildcards):
    return expand(rules.general_utility_task.output.data, gu_task=_gu_local_tasks(wildcards))


def get_gu_arguments(wildcards):
    """lm_eval.simple_evaluate's arguments for this run and task set (the spec's slice)."""
    return lm_eval_arguments(
        GU_PAIRS[wildcards.gu_pair],
        GU["task_sets"][wildcards.gu_task_set],
        _gu_pretrained(wildcards.gu_pair, wildcards.gu_run),
    )


def get_gu_gpus(wildcards):
    return GU_PAIRS[wildcards.gu_pair]["gpus"]


def get_gu_runtime(wildcards):
    return GU_PAIRS[wildcards.gu_pair]["runtime"]


def get_gu_local_task(wildcards):
    return GU["local_tasks"][wildcards.gu_task]


def get_gu_task_inputs(wildcards):
    task = GU["local_tasks"][wildcards.gu_task]
    return {
        "samples": dataset_path(task["split"]),
        "prompts": prompts_path(task["template"], task["split"]),
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
                        "path": expand(
                            rules.general_utility_eval.output[0], gu_pair=pair, gu_run=run, gu_task_set=task_set
                        )[0],
                    }
                )
    return runs


def get_gu_raw_results(wildcards=None):
    return [r["path"] for r in get_gu_runs()]


def get_general_utility_targets():
    return list(rules.table11.output)

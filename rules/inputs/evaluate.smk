# Input functions and settings of the rules in rules/evaluate.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


# Trivial on a cluster: run on the submit host (profiles/slurm/).
from dvmap.evaluate.backends import needs_vllm  # eval models that run vLLM go to generate_vllm


# ---- evaluation -----------------------------------------------------------------------------
def get_eval_model(wildcards):
    return EVAL_SPECS[EVAL_RUNS[wildcards.model][0]]


def get_sampling(wildcards):
    return SPECS["models"]["protocols"][get_eval_model(wildcards)["protocol"]]


def get_weights_reference(wildcards):
    """Local folder of the weights (a trained run or a local base) or the hub id."""
    eval_model, run = EVAL_RUNS[wildcards.model]
    if run is not None:
        return trained_model_dir(run.name)
    weights = EVAL_SPECS[eval_model]["weights"]
    if "base_of" in weights:
        return base_model_dir(weights["base_of"])
    return weights["hub"]


def get_eval_weights(wildcards):
    weights = get_eval_model(wildcards)["weights"]
    return [] if "hub" in weights else [get_weights_reference(wildcards)]


def get_eval_gpus(wildcards):
    """GPUs of a generation job: vLLM, offline or as a local server, runs on GPUs; the rest on CPUs."""
    model = get_eval_model(wildcards)
    return model.get("gpus", 1) if needs_vllm(model) else 0


def eval_runs_where(predicate):
    """Predictions-folder names whose evaluated model satisfies predicate (wildcard constraints)."""
    return "|".join(re.escape(n) for n, (m, _) in EVAL_RUNS.items() if predicate(EVAL_SPECS[m])) or "no-eval-model"


def get_table_rows(wildcards=None):
    """(name, template, kind) of every row of a results table, language models first."""
    return [(e["name"], e["template"], e["kind"]) for e in MAIN_ENTRIES]


def get_row_predictions(name, template, dataset):
    """Prediction files of one table row on one dataset: one per seed for a trained model (its mean
    over seeds is the row), a single file for an untrained model or a reference predictor."""
    entry = next(e for e in MAIN_ENTRIES if e["name"] == name and e["template"] == template)
    return row_files([entry], row_file_pattern("predictions"), dataset)


def get_scores(wildcards):
    return row_files(MAIN_ENTRIES, row_file_pattern("scores"), wildcards.dataset)


def get_predictions(wildcards):
    return row_files(MAIN_ENTRIES, row_file_pattern("predictions"), wildcards.dataset)


def get_eval_targets():
    """Table 2 and the results tables of each evaluated dataset (EVAL_DATASETS, rules/common.smk: with
    the released corpus, the benchmarks its folder has and its test split), every file of each job;
    none without a row to show."""
    if not MAIN_ENTRIES:
        return []
    table2 = list(rules.table2.output) if "cross_demographic" in EVAL_DATASETS else []
    return [*table2, *expand(list(rules.results_table.output), dataset=EVAL_DATASETS)]

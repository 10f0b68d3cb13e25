# Generation (language models and reference predictors, one predictions format), scoring, tables.
# Generation logs every finished sample under results/partial/ (not an output), so a killed job
# resumes without paying twice.


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
        return f"results/models/{run.name}"
    weights = EVAL_SPECS[eval_model]["weights"]
    if "base_of" in weights:
        return f"results/models/{weights['base_of']}-base"
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
    return row_files([entry], "predictions", dataset)


def get_scores(wildcards):
    return row_files(MAIN_ENTRIES, "scores", wildcards.dataset)


def get_predictions(wildcards):
    return row_files(MAIN_ENTRIES, "predictions", wildcards.dataset)


# Benchmarks to evaluate on: with the released corpus as the source, those its folder has.
EVAL_DATASETS = [d for d in config["eval_datasets"] if d in AVAILABLE_DATASETS]


def note_skipped_benchmarks():
    """With the released corpus as the source, a benchmark its folder lacks is not evaluated (a
    split a target needs, such as dev for training, stops the run in get_release_split)."""
    skipped = [d for d in config["eval_datasets"] if d not in EVAL_DATASETS]
    if skipped:
        print(f"DVMap: release_dir has no {', '.join(skipped)} split: not evaluated", file=sys.stderr)


note_skipped_benchmarks()


def get_eval_targets():
    table2 = ["results/table2.csv"] if "cross_demographic" in EVAL_DATASETS else []
    return [*table2, *expand("results/tables/{dataset}.csv", dataset=EVAL_DATASETS)]


localrules:
    table2,


rule generate:
    """Generate answers of one evaluated model on one dataset (engine and sampling from the spec)."""
    input:
        dataset=get_dataset,
        prompts="results/prompts/{template}/{dataset}.parquet",
        weights=get_eval_weights,
    output:
        "results/predictions/{model}/{template}/{dataset}.parquet",
    log:
        "logs/generate/{model}_{template}_{dataset}.log",
    benchmark:
        "benchmarks/generate/{model}_{template}_{dataset}.tsv"
    wildcard_constraints:
        model=eval_runs_where(lambda spec: not needs_vllm(spec)),
    conda:
        "../envs/data.yaml"
    threads: 2
    resources:
        gpu=get_eval_gpus,
        runtime=240,
    params:
        model=get_eval_model,
        sampling=get_sampling,
        weights=get_weights_reference,
        partial="results/partial/predictions/{model}/{template}/{dataset}.jsonl",
    script:
        "../scripts/generate.py"


rule generate_vllm:
    """Generate answers of one evaluated model that runs vLLM (`engine: vllm`, or `server: vllm`) in
    the vLLM environment; same script and output contract as `generate`. Without --use-conda the
    current Python needs vLLM, or DVMAP_VLLM_PYTHON names one that has it (scripts/setup_vllm_cpu.sh)."""
    input:
        dataset=get_dataset,
        prompts="results/prompts/{template}/{dataset}.parquet",
        weights=get_eval_weights,
    output:
        "results/predictions/{model}/{template}/{dataset}.parquet",
    log:
        "logs/generate/{model}_{template}_{dataset}.log",
    benchmark:
        "benchmarks/generate/{model}_{template}_{dataset}.tsv"
    wildcard_constraints:
        model=eval_runs_where(needs_vllm),
    conda:
        "../envs/eval-vllm.yaml"
    threads: 2
    resources:
        gpu=get_eval_gpus,
        runtime=240,
    params:
        model=get_eval_model,
        sampling=get_sampling,
        weights=get_weights_reference,
        partial="results/partial/predictions/{model}/{template}/{dataset}.jsonl",
    script:
        "../scripts/generate.py"


rule reference_predictions:
    """A reference predictor fitted on the train split, predicting one dataset."""
    input:
        train="results/corpus/train.parquet",
        dataset=get_dataset,
    output:
        "results/predictions/{model}/reference/{dataset}.parquet",
    log:
        "logs/reference/{model}_{dataset}.log",
    benchmark:
        "benchmarks/reference/{model}_{dataset}.tsv"
    wildcard_constraints:
        model="|".join(REFERENCE_PREDICTORS) or "no-reference",
    conda:
        "../envs/data.yaml"
    params:
        attribute_names=ATTRIBUTE_NAMES,
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/reference_predictions.py"


rule score:
    """Acc, LC, WD, JSD with bootstrap CIs, n and parse-failure rate of one model on one dataset."""
    input:
        predictions="results/predictions/{model}/{template}/{dataset}.parquet",
        dataset=get_dataset,
    output:
        "results/scores/{model}/{template}/{dataset}.json",
    log:
        "logs/score/{model}_{template}_{dataset}.log",
    benchmark:
        "benchmarks/score/{model}_{template}_{dataset}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/score.py"


rule results_table:
    """Per dataset: models (mean over seeds) and reference predictors with metrics and CIs, the
    per-seed values, accuracy per country (per question for cross_value), paired tests, a figure."""
    input:
        scores=get_scores,
        predictions=get_predictions,
        dataset=get_dataset,
    output:
        table=reported("results/tables/{dataset}.csv", "tables/results_table", "{dataset}"),
        seeds=reported("results/tables/{dataset}_seeds.csv", "tables/results_seeds", "{dataset}"),
        per_group=reported("results/tables/{dataset}_per_group.csv", "tables/results_per_group", "{dataset}"),
        paired=reported("results/tables/{dataset}_paired_tests.csv", "tables/results_paired_tests", "{dataset}"),
        figure=reported("results/figures/{dataset}.png", "tables/results_figure", "{dataset}"),
    log:
        "logs/tables/{dataset}.log",
    benchmark:
        "benchmarks/tables/{dataset}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        rows=MAIN_ENTRIES,
        comparisons=SPECS["models"]["comparisons"],
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/results_table.py"


rule table2:
    """Table 2 of the paper: the cross-demographic results."""
    input:
        "results/tables/cross_demographic.csv",
        "results/tables/cross_demographic_seeds.csv",
    output:
        reported("results/table2.csv", "tables/table2", "cross_demographic"),
        reported("results/table2_seeds.csv", "tables/table2_seeds", "cross_demographic"),
    log:
        "logs/tables/table2.log",
    benchmark:
        "benchmarks/tables/table2.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/copy_file.py"

# Generation (language models and reference predictors, one predictions format), scoring, tables.
# Generation logs every finished sample under results/partial/ (not an output), so a killed job
# resumes without paying twice.


include: "inputs/evaluate.smk"


localrules:
    table2,


rule generate:
    """Generate answers of one evaluated model on one dataset (engine and sampling from the spec)."""
    input:
        dataset=get_dataset,
        prompts=rules.prompts.output[0],
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
        "../envs/evaluate.yaml"
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


use rule generate as generate_vllm with:
    # Eval models that run vLLM (`engine: vllm`, or `server: vllm`), in the vLLM environment; same
    # script and output contract. Without --use-conda the current Python needs vLLM, or
    # DVMAP_VLLM_PYTHON names one that has it (scripts/setup_vllm_cpu.sh).
    wildcard_constraints:
        model=eval_runs_where(needs_vllm),
    conda:
        "../envs/eval-vllm.yaml"


rule reference_predictions:
    """A reference predictor fitted on the train split, predicting one dataset."""
    input:
        train=dataset_path("train"),
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
        "../envs/evaluate.yaml"
    params:
        attribute_names=ATTRIBUTE_NAMES,
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/reference_predictions.py"


rule score:
    """Acc, LC, WD, JSD with bootstrap CIs, n and parse-failure rate of one model on one dataset."""
    input:
        predictions=rules.generate.output[0],
        dataset=get_dataset,
    output:
        "results/scores/{model}/{template}/{dataset}.json",
    log:
        "logs/score/{model}_{template}_{dataset}.log",
    benchmark:
        "benchmarks/score/{model}_{template}_{dataset}.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/score.py"


rule results_table:
    """Per dataset: models (mean over seeds) and reference predictors with metrics and CIs, the
    per-seed values, accuracy per country (per question for cross_value) with CIs and ranks, paired
    tests, a figure."""
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
        "../envs/evaluate.yaml"
    params:
        rows=MAIN_ENTRIES,
        comparisons=SPECS["models"]["comparisons"],
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/results_table.py"


rule table2:
    """Table 2 of the paper: the cross-demographic results."""
    input:
        expand(rules.results_table.output.table, dataset="cross_demographic"),
        expand(rules.results_table.output.seeds, dataset="cross_demographic"),
    output:
        reported("results/table2.csv", "tables/table2", "cross_demographic"),
        reported("results/table2_seeds.csv", "tables/table2_seeds", "cross_demographic"),
    log:
        "logs/tables/table2.log",
    benchmark:
        "benchmarks/tables/table2.tsv"
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/copy_file.py"

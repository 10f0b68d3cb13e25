# Generation (language models and reference predictors, one predictions format), scoring, tables.
# Generation logs every finished sample under results/partial/ (not an output), so a killed job
# resumes without paying twice.


rule generate:
    """Generate answers of one evaluated model on one dataset (engine and sampling from the spec)."""
    input:
        dataset=get_dataset,
        prompts="results/prompts/{template}/{dataset}.parquet",
        weights=get_eval_weights,
    output:
        "results/predictions/{model}/{template}/{dataset}.parquet",
    wildcard_constraints:
        model="|".join(map(re.escape, EVAL_MODELS)) or "no-eval-model",
    params:
        model=get_eval_model,
        sampling=get_sampling,
        weights=get_weights_reference,
        partial="results/partial/predictions/{model}/{template}/{dataset}.jsonl",
    resources:
        gpu=get_eval_gpus,
        runtime=240,
    log:
        "logs/generate/{model}_{template}_{dataset}.log",
    benchmark:
        "benchmarks/generate/{model}_{template}_{dataset}.tsv"
    threads: 2
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/generate.py"


rule reference_predictions:
    """A reference predictor fitted on the train split, predicting one dataset."""
    input:
        train="results/corpus/train.parquet",
        dataset=get_dataset,
    output:
        "results/predictions/{model}/reference/{dataset}.parquet",
    wildcard_constraints:
        model="|".join(REFERENCE_PREDICTORS) or "no-reference",
    params:
        attribute_names=ATTRIBUTE_NAMES,
        seed=SPECS["splits"]["seed"],
    log:
        "logs/reference/{model}_{dataset}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/reference_predictions.py"


rule score:
    """Acc, LC, WD, JSD with bootstrap CIs, n and parse-failure rate of one model on one dataset."""
    input:
        predictions="results/predictions/{model}/{template}/{dataset}.parquet",
        dataset=get_dataset,
    output:
        "results/scores/{model}/{template}/{dataset}.json",
    params:
        seed=SPECS["splits"]["seed"],
    log:
        "logs/score/{model}_{template}_{dataset}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/score.py"


rule results_table:
    """Per dataset: models and reference predictors with metrics and CIs, accuracy per country
    (per question for cross_value), paired tests, and a figure."""
    input:
        scores=get_scores,
        predictions=get_predictions,
        dataset=get_dataset,
    output:
        table="results/tables/{dataset}.csv",
        per_group="results/tables/{dataset}_per_group.csv",
        paired="results/tables/{dataset}_paired_tests.csv",
        figure=report("results/figures/{dataset}.png", category="Figures"),
    params:
        rows=get_table_rows,
        comparisons=SPECS["models"]["comparisons"],
        seed=SPECS["splits"]["seed"],
    log:
        "logs/tables/{dataset}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/results_table.py"


rule table2:
    """Table 2 of the paper: the cross-demographic results."""
    input:
        "results/tables/cross_demographic.csv",
    output:
        report("results/table2.csv", category="Tables"),
    log:
        "logs/tables/table2.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/copy_file.py"

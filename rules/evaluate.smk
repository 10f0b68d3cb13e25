# Generation (language models and reference predictors, one predictions format), scoring, tables.
# Generation logs every finished sample under results/partial/ (not an output), so a killed job
# resumes without paying twice.


# Trivial on a cluster: run on the submit host (profiles/slurm/).
localrules:
    table2,


from dvmap.evaluate.backends import needs_vllm  # eval models that run vLLM go to generate_vllm


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
        table=report(
            "results/tables/{dataset}.csv",
            caption="../report/tables/results_table.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="{dataset}",
        ),
        seeds=report(
            "results/tables/{dataset}_seeds.csv",
            caption="../report/tables/results_seeds.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="{dataset}",
        ),
        per_group=report(
            "results/tables/{dataset}_per_group.csv",
            caption="../report/tables/results_per_group.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="{dataset}",
        ),
        paired=report(
            "results/tables/{dataset}_paired_tests.csv",
            caption="../report/tables/results_paired_tests.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="{dataset}",
        ),
        figure=report(
            "results/figures/{dataset}.png",
            caption="../report/tables/results_figure.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="{dataset}",
        ),
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


rule experiment_table:
    """An ablation table of the experiments spec (Tables 3, 4, 5, 10): each row's metrics (mean over
    seeds, CIs with seed variance), its overrides, the paired test against the table's baseline,
    the reference predictors and the paper's number for the cell; per-seed values beside it."""
    input:
        scores=get_experiment_inputs("scores"),
        predictions=get_experiment_inputs("predictions"),
        datasets=get_experiment_datasets,
    output:
        table=report(
            "results/{table}.csv",
            caption="../report/ablations/experiment_table.rst",
            category=REPORT_CATEGORIES["ablations"],
            subcategory="{table}",
        ),
        seeds=report(
            "results/{table}_seeds.csv",
            caption="../report/ablations/experiment_seeds.rst",
            category=REPORT_CATEGORIES["ablations"],
            subcategory="{table}",
        ),
    log:
        "logs/tables/{table}.log",
    benchmark:
        "benchmarks/tables/{table}.tsv"
    wildcard_constraints:
        table="|".join(EXPERIMENTS["tables"]) or "no-experiment-table",
    conda:
        "../envs/data.yaml"
    params:
        rows=get_experiment_rows,
        table=get_experiment_spec,
        paper=get_paper_numbers,
        seed=SPECS["splits"]["seed"],
    script:
        "../scripts/experiment_table.py"


rule scale_figure:
    """Figures 4, 6, 7: accuracy, LC and WD across model sizes, base vs DVMap (error bars over
    seeds), reference predictors as lines."""
    input:
        scores=get_scale_inputs,
        references=expand("results/scores/{predictor}/reference/{{dataset}}.json", predictor=REFERENCE_PREDICTORS),
    output:
        table=report(
            "results/tables/scale_{dataset}.csv",
            caption="../report/ablations/scale_table.rst",
            category=REPORT_CATEGORIES["ablations"],
            subcategory="model size (Figures 4, 6, 7)",
        ),
        figure=report(
            "results/figures/scale_{dataset}.png",
            caption="../report/ablations/scale_figure.rst",
            category=REPORT_CATEGORIES["ablations"],
            subcategory="model size (Figures 4, 6, 7)",
        ),
    log:
        "logs/tables/scale_{dataset}.log",
    benchmark:
        "benchmarks/tables/scale_{dataset}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        sizes=[
            (label, row_entries([base], False)[0], row_entries([dvmap], False)[0]) for label, base, dvmap in SCALE_ROWS
        ],
        references=REFERENCE_PREDICTORS,
    script:
        "../scripts/scale_figure.py"


rule table2:
    """Table 2 of the paper: the cross-demographic results."""
    input:
        "results/tables/cross_demographic.csv",
        "results/tables/cross_demographic_seeds.csv",
    output:
        report(
            "results/table2.csv",
            caption="../report/tables/table2.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="cross_demographic",
        ),
        report(
            "results/table2_seeds.csv",
            caption="../report/tables/table2_seeds.rst",
            category=REPORT_CATEGORIES["tables"],
            subcategory="cross_demographic",
        ),
    log:
        "logs/tables/table2.log",
    benchmark:
        "benchmarks/tables/table2.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/copy_file.py"

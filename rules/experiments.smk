# Experiments as a spec axis (specs/experiments.yaml): a filter variant's own corpus, prompts and verl
# files built from the main corpus's profiles, the ablation tables (3, 4, 5, 10) and the scale
# figures. Rows and runs are planned once in rules/common.smk (PLAN, dvmap.experiments).


include: "inputs/experiments.smk"


if config["data_source"] == "wvs":

    rule variant_archetypes:
        """A filter variant's archetype table of the training countries (same entropies, its own
        keep/drop decision)."""
        input:
            country_files("respondents", TRAIN_COUNTRIES),
        output:
            "results/variants/{variant}/data/archetypes.parquet",
        log:
            "logs/variants/{variant}_archetypes.log",
        benchmark:
            "benchmarks/variants/{variant}_archetypes.tsv"
        wildcard_constraints:
            variant="|".join(FILTER_VARIANTS) or "no-filter-variant",
        conda:
            "../envs/data.yaml"
        params:
            questions=QUESTION_CODING,
            filter=get_filter_variant,
        script:
            "../scripts/archetypes.py"

    rule variant_corpus:
        """A filter variant's corpus: the main corpus's profiles in the same splits, relabelled by
        the variant's filter (no benchmark profile can enter it)."""
        input:
            respondents=country_files("respondents", TRAIN_COUNTRIES),
            archetypes=rules.variant_archetypes.output[0],
            corpus=[dataset_path(split) for split in CORPUS_SPLITS],
        output:
            expand(VARIANT_CORPUS_FILE, corpus_split=CORPUS_SPLITS, allow_missing=True),
        log:
            "logs/variants/{variant}_corpus.log",
        benchmark:
            "benchmarks/variants/{variant}_corpus.tsv"
        wildcard_constraints:
            variant="|".join(FILTER_VARIANTS) or "no-filter-variant",
        conda:
            "../envs/data.yaml"
        params:
            countries=TRAIN_COUNTRIES,
            questions=TRAIN_QUESTIONS,
            attribute_names=ATTRIBUTE_NAMES,
        script:
            "../scripts/variant_corpus.py"

    use rule prompts as variant_prompts with:
        # one template over a filter variant's corpus split (no audit gate: the variant's profiles
        # are the main corpus's, which passed it)
        input:
            dataset=VARIANT_CORPUS_FILE,
            templates=get_template_files,
        output:
            "results/variants/{variant}/prompts/{template}/{corpus_split}.parquet",
        log:
            "logs/variants/{variant}_prompts_{template}_{corpus_split}.log",
        benchmark:
            "benchmarks/variants/{variant}_prompts_{template}_{corpus_split}.tsv"
        wildcard_constraints:
            variant="|".join(FILTER_VARIANTS) or "no-filter-variant",
            template="|".join(TEMPLATES),

    use rule export_verl as variant_export_verl with:
        # verl's RL parquet of a filter variant's corpus split
        input:
            dataset=VARIANT_CORPUS_FILE,
            prompts=rules.variant_prompts.output[0],
        output:
            "results/variants/{variant}/verl/{template}/{corpus_split}.parquet",
        log:
            "logs/variants/{variant}_export_verl_{template}_{corpus_split}.log",
        benchmark:
            "benchmarks/variants/{variant}_export_verl_{template}_{corpus_split}.tsv"
        wildcard_constraints:
            variant="|".join(FILTER_VARIANTS) or "no-filter-variant",
            template="|".join(TEMPLATES),


rule experiment_table:
    """An ablation table of the experiments spec (Tables 3, 4, 5, 10): each row's metrics (mean over
    seeds, CIs with seed variance), its overrides, the paired test against the table's baseline,
    the reference predictors and the paper's number for the cell; per-seed values beside it."""
    input:
        scores=get_experiment_inputs("scores"),
        predictions=get_experiment_inputs("predictions"),
        datasets=get_experiment_datasets,
    output:
        table=reported("results/{table}.csv", "ablations/experiment_table", "{table}"),
        seeds=reported("results/{table}_seeds.csv", "ablations/experiment_seeds", "{table}"),
    log:
        "logs/tables/{table}.log",
    benchmark:
        "benchmarks/tables/{table}.tsv"
    wildcard_constraints:
        table="|".join(EXPERIMENTS["tables"]) or "no-experiment-table",
    conda:
        "../envs/evaluate.yaml"
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
        references=expand(rules.score.output[0], model=REFERENCE_PREDICTORS, template="reference", allow_missing=True),
    output:
        table=reported("results/tables/scale_{dataset}.csv", "ablations/scale_table", "model size (Figures 4, 6, 7)"),
        figure=reported("results/figures/scale_{dataset}.png", "ablations/scale_figure", "model size (Figures 4, 6, 7)"),
    log:
        "logs/tables/scale_{dataset}.log",
    benchmark:
        "benchmarks/tables/scale_{dataset}.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        sizes=[(label, row_entries([base])[0], row_entries([dvmap])[0]) for label, base, dvmap in PLAN.scale_rows],
        references=REFERENCE_PREDICTORS,
    script:
        "../scripts/scale_figure.py"

# Model analyses: Figure 5 (answer entropy vs accuracy), Figure 8 (value flip rate under an
# income flip), Figure 9 (cross-country gain vs distance on the cultural map), Table 12 (cross-value
# gain vs semantic distance), and option-order robustness (beyond the paper). Settings:
# specs/model_analyses.yaml. Every row of the result tables (language models and reference
# predictors) is analysed; a row with one prediction file per seed is averaged over its seeds.
#
# The robustness datasets results/robustness/{income_flip,option_order,repeat}.parquet follow the
# benchmark contract (one row per sample), so the prompts, generate, reference_predictions and
# score rules take them as they are (dataset wildcard; dataset_path() in common.smk).


include: "inputs/model_analyses.smk"


rule robustness_dataset:
    """A robustness dataset from the cross-demographic samples: income flipped (High <-> Low), options
    in a seeded order, or the same samples again under new ids (the sampling control)."""
    input:
        dataset_path("cross_demographic"),
    output:
        DATASET_FILE.format(folder="robustness", dataset="{robustness}"),
    log:
        "logs/analyses/robustness_dataset_{robustness}.log",
    benchmark:
        "benchmarks/analyses/robustness_dataset_{robustness}.tsv"
    wildcard_constraints:
        robustness="|".join(ROBUSTNESS_DATASETS),
    conda:
        "../envs/analyses.yaml"
    params:
        spec={k: MODEL_ANALYSES[k] for k in ("income_flip", "option_order")},
        attribute_names=ATTRIBUTE_NAMES,
    script:
        "../scripts/robustness_dataset.py"


rule question_embeddings:
    """Embeddings of every question's text (offline: HF_HUB_OFFLINE=1) for semantic distances."""
    input:
        get_embedding_inputs,
    output:
        "results/analysis/question_embeddings.parquet",
    log:
        "logs/analyses/question_embeddings.log",
    benchmark:
        "benchmarks/analyses/question_embeddings.tsv"
    conda:
        EMBEDDING_ENV
    resources:
        # the paper's embedder (Qwen3-8B, specs/model_analyses_paper.yaml) is a GPU job like generation
        **EMBEDDING_RESOURCES,
    params:
        embedding=MODEL_ANALYSES["embedding"],
        embedder=MODEL_ANALYSES["embedding"].get("model") or MODEL_ANALYSES["embedding"].get("package"),
        device=MODEL_ANALYSES["embedding"]["device"],
        questions=[{k: q[k] for k in ("id", "role", "text", "options")} for q in SPECS["questions"]["questions"]],
    message:
        "question_embeddings: embedding the questions with {params.embedder} on {params.device} ({resources.gpu} GPU)"
    script:
        "../scripts/question_embeddings.py"


rule entropy_accuracy:
    """Figure 5: accuracy per value category (and per question) against the mean entropy of the answer
    distribution, and Pearson r with a bootstrap CI, for every row."""
    input:
        dataset=dataset_path("cross_demographic"),
        predictions=get_row_prediction_inputs("cross_demographic"),
    output:
        correlations=reported(
            "results/analysis/fig5_entropy_accuracy.csv", "analyses/fig5_entropy_accuracy", "Figure 5"
        ),
        points=reported(
            "results/analysis/fig5_entropy_accuracy_points.csv", "analyses/fig5_entropy_accuracy_points", "Figure 5"
        ),
        figure=reported("results/figures/fig5_entropy_accuracy.png", "analyses/fig5_figure", "Figure 5"),
    log:
        "logs/analyses/entropy_accuracy.log",
    benchmark:
        "benchmarks/analyses/entropy_accuracy.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        rows=row_prediction_files("cross_demographic"),
        seed=MODEL_ANALYSES["seed"],
        resamples=MODEL_ANALYSES["bootstrap_resamples"],
        unit=SPECS["analyses"]["entropy_unit"],
    script:
        "../scripts/analysis_entropy_accuracy.py"


rule value_flip:
    """Figure 8: share of answers that change when the income is flipped (High <-> Low), when the
    options are reordered, and when the same prompt is asked again (control), for every row."""
    input:
        original=dataset_path("cross_demographic"),
        datasets=[dataset_path(d) for d in ROBUSTNESS_USED],
        predictions=get_row_prediction_inputs("cross_demographic", *ROBUSTNESS_USED),
    output:
        table=reported("results/analysis/fig8_value_flip.csv", "analyses/fig8_value_flip", "Figure 8"),
        by_question=reported(
            "results/analysis/fig8_value_flip_by_question.csv", "analyses/fig8_value_flip_by_question", "Figure 8"
        ),
        figure=reported("results/figures/fig8_value_flip.png", "analyses/fig8_figure", "Figure 8"),
    log:
        "logs/analyses/value_flip.log",
    benchmark:
        "benchmarks/analyses/value_flip.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        original=row_prediction_files("cross_demographic"),
        perturbed={d: row_prediction_files(d) for d in ROBUSTNESS_USED},
        seed=MODEL_ANALYSES["seed"],
        resamples=MODEL_ANALYSES["bootstrap_resamples"],
    script:
        "../scripts/analysis_value_flip.py"


rule country_gain:
    """Figure 9: per cross-country country, the accuracy gain of each DVMap model over its base
    (paired bootstrap CI), countries ordered by distance to the training countries on the map."""
    input:
        dataset=dataset_path("cross_country"),
        predictions=get_row_prediction_inputs("cross_country"),
    output:
        gains=reported("results/analysis/fig9_country_gain.csv", "analyses/fig9_country_gain", "Figure 9"),
        correlations=reported(
            "results/analysis/fig9_country_gain_distance.csv", "analyses/fig9_country_gain_distance", "Figure 9"
        ),
        figure=reported("results/figures/fig9_country_gain.png", "analyses/fig9_figure", "Figure 9"),
    log:
        "logs/analyses/country_gain.log",
    benchmark:
        "benchmarks/analyses/country_gain.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        group="country",
        rows=row_prediction_files("cross_country"),
        comparisons=SPECS["models"]["comparisons"],
        countries=SPECS["countries"]["countries"],
        countries_file=config["specs"]["countries"],
        seed=MODEL_ANALYSES["seed"],
        resamples=MODEL_ANALYSES["bootstrap_resamples"],
    script:
        "../scripts/analysis_group_gain.py"


rule question_gain:
    """Table 12: per cross-value question, the accuracy gain of each DVMap model over its base against
    its semantic distance (average and nearest) to the training questions, and Pearson r of each."""
    input:
        dataset=dataset_path("cross_value"),
        embeddings=rules.question_embeddings.output[0],
        predictions=get_row_prediction_inputs("cross_value"),
    output:
        gains=reported("results/analysis/table12_question_gain.csv", "analyses/table12_question_gain", "Table 12"),
        correlations=reported(
            "results/analysis/table12_gain_distance.csv", "analyses/table12_gain_distance", "Table 12"
        ),
        figure=reported("results/figures/table12_gain_distance.png", "analyses/table12_figure", "Table 12"),
    log:
        "logs/analyses/question_gain.log",
    benchmark:
        "benchmarks/analyses/question_gain.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        group="q_id",
        rows=row_prediction_files("cross_value"),
        comparisons=SPECS["models"]["comparisons"],
        training_questions=[q["id"] for q in SPECS["questions"]["questions"] if q["role"] == "train"],
        seed=MODEL_ANALYSES["seed"],
        resamples=MODEL_ANALYSES["bootstrap_resamples"],
    script:
        "../scripts/analysis_group_gain.py"


rule model_analyses:
    """Every model analysis (also part of the `analyses` target)."""
    input:
        get_model_analysis_targets(),

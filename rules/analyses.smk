# Data analyses (no model needed): Figure 1a-1c from the survey and Tables 1, 6, 7, 8, 9 rendered
# from the specs. Numbers go to results/analysis/*.csv (with n and bootstrap CIs), figures to
# results/figures/*.png. Settings: specs/analyses.yaml. Target: `snakemake --cores all analyses`.


include: "inputs/analyses.smk"


rule analysis_heterogeneity:
    """Figure 1a: the answer shares of the most heterogeneous question, one panel per country."""
    input:
        "results/data/respondents.parquet",
    output:
        distribution=reported("results/analysis/fig1a_heterogeneity.csv", "analyses/fig1a_heterogeneity", "Figure 1a"),
        entropies=reported(
            "results/analysis/fig1a_entropy_by_country_question.csv",
            "analyses/fig1a_entropy_by_country_question",
            "Figure 1a",
        ),
        figure=reported("results/figures/fig1a_heterogeneity.png", "analyses/fig1a_figure", "Figure 1a"),
    log:
        "logs/analyses/analysis_heterogeneity.log",
    benchmark:
        "benchmarks/analyses/analysis_heterogeneity.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        countries=SPECS["countries"]["countries"],
        questions=ANALYSIS_QUESTIONS,
        heterogeneity=ANALYSES["heterogeneity"],
        use_weight=ANALYSES["use_weight"],
        seed=ANALYSES["seed"],
        resamples=ANALYSES["bootstrap_resamples"],
    script:
        "../scripts/analysis_heterogeneity.py"


rule analysis_entropy_distribution:
    """Figure 1b: entropy (bits) of (profile, question) pairs before filtering, with the H = 0 mass."""
    input:
        "results/data/archetypes.parquet",
    output:
        histogram=reported(
            "results/analysis/fig1b_entropy_histogram.csv", "analyses/fig1b_entropy_histogram", "Figure 1b"
        ),
        summary=reported("results/analysis/fig1b_entropy_summary.csv", "analyses/fig1b_entropy_summary", "Figure 1b"),
        figure=reported("results/figures/fig1b_entropy_distribution.png", "analyses/fig1b_figure", "Figure 1b"),
    log:
        "logs/analyses/analysis_entropy_distribution.log",
    benchmark:
        "benchmarks/analyses/analysis_entropy_distribution.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        spec=ANALYSES["entropy_distribution"],
        seed=ANALYSES["seed"],
        resamples=ANALYSES["bootstrap_resamples"],
    script:
        "../scripts/analysis_entropy_distribution.py"


rule analysis_attribute_importance:
    """Figure 1c: random-forest permutation importance of the 11 attributes for every question."""
    input:
        "results/data/respondents.parquet",
    output:
        table=reported(
            "results/analysis/fig1c_attribute_importance.csv", "analyses/fig1c_attribute_importance", "Figure 1c"
        ),
        figure=reported("results/figures/fig1c_attribute_importance.png", "analyses/fig1c_figure", "Figure 1c"),
    log:
        "logs/analyses/analysis_attribute_importance.log",
    benchmark:
        "benchmarks/analyses/analysis_attribute_importance.tsv"
    conda:
        "../envs/analyses.yaml"
    threads: 2
    params:
        attribute_names=ATTRIBUTE_NAMES,
        questions=IMPORTANCE_QUESTIONS,
        countries=ANALYSES["attribute_importance"]["countries"] or ANALYSIS_COUNTRY_CODES,
        spec=IMPORTANCE_SPEC,
        seed=ANALYSES["seed"],
        resamples=ANALYSES["bootstrap_resamples"],
    script:
        "../scripts/analysis_attribute_importance.py"


rule table_countries:
    """Tables 1 and 8: training and cross-country countries with their quadrant, from specs/countries.yaml."""
    output:
        **SPEC_TABLE_OUTPUTS["countries"],
    log:
        "logs/analyses/table_countries.log",
    benchmark:
        "benchmarks/analyses/table_countries.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        table="countries",
        countries=SPECS["countries"]["countries"],
    script:
        "../scripts/analysis_spec_tables.py"


rule table_attributes:
    """Table 6: the 11 attributes with their WVS variables and labels or bins, from specs/attributes.yaml."""
    output:
        **SPEC_TABLE_OUTPUTS["attributes"],
    log:
        "logs/analyses/table_attributes.log",
    benchmark:
        "benchmarks/analyses/table_attributes.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        table="attributes",
        attributes=SPECS["attributes"],
        countries=SPECS["countries"]["countries"],
        max_labels=ANALYSES["spec_tables"]["max_labels_in_markdown"],
    script:
        "../scripts/analysis_spec_tables.py"


rule table_questions:
    """Tables 7 and 9: the questions with category, concept and options; cross-value neighbours."""
    output:
        **SPEC_TABLE_OUTPUTS["questions"],
    log:
        "logs/analyses/table_questions.log",
    benchmark:
        "benchmarks/analyses/table_questions.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        table="questions",
        questions=ANALYSIS_QUESTIONS,
    script:
        "../scripts/analysis_spec_tables.py"

# Data analyses (no model needed): Figure 1a-1c from the survey and Tables 1, 6, 7, 8, 9 rendered
# from the specs. Figure 1b has the paper's quantity (one entropy per value question of the survey
# file, read from the file itself) beside the kit's ((profile, question) pairs); Figure 1c both
# importance methods (MDI, the paper's, and permutation, the kit's) with their rank agreement. Numbers go to results/analysis/*.csv (with n and bootstrap CIs), figures to
# results/figures/*.png. Settings: specs/analyses.yaml. Target: `snakemake --cores all analyses`.


include: "inputs/analyses.smk"


rule analysis_heterogeneity:
    """Figure 1a: the answer shares of the most heterogeneous question, one panel per country."""
    input:
        STUDY_TABLES["respondents"],
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
        unit=ENTROPY_UNIT,
    script:
        "../scripts/analysis_heterogeneity.py"


rule analysis_entropy_distribution:
    """Figure 1b, the kit's view: entropy of (profile, question) pairs before filtering, with the H = 0 mass."""
    input:
        STUDY_TABLES["archetypes"],
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
        unit=ENTROPY_UNIT,
    script:
        "../scripts/analysis_entropy_distribution.py"


rule analysis_question_entropy:
    """Figure 1b as the paper draws it: the entropy of every value question the survey file holds among
    a country's respondents, and the share of questions above the threshold (bootstrap CI)."""
    input:
        get_survey_file,
    output:
        table=reported("results/analysis/fig1b_question_entropy.csv", "analyses/fig1b_question_entropy", "Figure 1b"),
        summary=reported(
            "results/analysis/fig1b_question_entropy_summary.csv",
            "analyses/fig1b_question_entropy_summary",
            "Figure 1b",
        ),
        figure=reported(
            "results/figures/fig1b_question_entropy.png", "analyses/fig1b_question_entropy_figure", "Figure 1b"
        ),
    log:
        "logs/analyses/analysis_question_entropy.log",
    benchmark:
        "benchmarks/analyses/analysis_question_entropy.tsv"
    conda:
        "../envs/analyses.yaml"
    params:
        countries=QUESTION_ENTROPY_COUNTRIES,
        spec=QUESTION_ENTROPY_SPEC,
        use_weight=ANALYSES["use_weight"],
        seed=ANALYSES["seed"],
        resamples=ANALYSES["bootstrap_resamples"],
        unit=ENTROPY_UNIT,
    script:
        "../scripts/analysis_question_entropy.py"


rule analysis_attribute_importance:
    """Figure 1c: random-forest importance of the 11 attributes for every question, by MDI (the paper's)
    and by permutation on held-out respondents (the kit's), and how alike they rank the attributes."""
    input:
        STUDY_TABLES["respondents"],
    output:
        table=reported(
            "results/analysis/fig1c_attribute_importance.csv", "analyses/fig1c_attribute_importance", "Figure 1c"
        ),
        agreement=reported("results/analysis/fig1c_rank_agreement.csv", "analyses/fig1c_rank_agreement", "Figure 1c"),
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
        figure_method=ANALYSES["attribute_importance"]["figure_method"],
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

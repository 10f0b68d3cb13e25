# Input functions and settings of the rules in rules/analyses.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).
ANALYSES = SPECS["analyses"]


ANALYSIS_QUESTIONS = SPECS["questions"]["questions"]


ANALYSIS_COUNTRY_CODES = [c["iso3"] for c in SPECS["countries"]["countries"]]


SPEC_TABLES = {
    "countries": ["table1_countries", "table8_cross_countries"],
    "attributes": ["table6_attributes"],
    "questions": ["table7_questions", "table9_cross_value"],
}


# Slices of the analyses spec the rules read.
ENTROPY_UNIT = ANALYSES["entropy_unit"]  # bits | nats: every entropy the analyses report


IMPORTANCE_SPEC = {
    k: v for k, v in ANALYSES["attribute_importance"].items() if k not in ("questions", "countries", "figure_method")
}


# Figure 1b, the paper's quantity: the survey file's every value question in these countries.
QUESTION_ENTROPY_SPEC = {k: v for k, v in ANALYSES["question_entropy"].items() if k != "countries"}


QUESTION_ENTROPY_COUNTRIES = [  # b_country (pooled B_COUNTRY codes) only where set, as get_country gives it
    {k: COUNTRIES[c][k] for k in ("iso3", "iso_numeric", "b_country") if k in COUNTRIES[c]}
    for c in (ANALYSES["question_entropy"]["countries"] or ANALYSIS_COUNTRY_CODES)
]


IMPORTANCE_QUESTIONS = [
    q
    for q in ANALYSIS_QUESTIONS
    if ANALYSES["attribute_importance"]["questions"] is None or q["id"] in ANALYSES["attribute_importance"]["questions"]
]


SPEC_TABLE_OUTPUTS = {
    kind: {
        f"{name.split('_')[0]}_{ext}": reported(
            f"results/analysis/{name}.{ext}", f"analyses/{name}", "Tables from the specs"
        )
        for name in names
        for ext in ("csv", "md")
    }
    for kind, names in SPEC_TABLES.items()
}


def get_analysis_targets(wildcards=None):
    """Every output of the `analyses` target's data part, taken from the rules of rules/analyses.smk: the survey
    analyses need respondents, so a run on the released corpus (data_source: release) gets the spec
    tables only."""
    survey = (
        rules.analysis_heterogeneity,
        rules.analysis_entropy_distribution,
        rules.analysis_question_entropy,
        rules.analysis_attribute_importance,
    )
    tables = (rules.table_countries, rules.table_attributes, rules.table_questions)
    chosen = [*survey, *tables] if config["data_source"] == "wvs" else tables
    return [path for rule in chosen for path in rule.output]

# Survey file -> the needed codes of every respondent -> per country: respondents, archetypes and
# pools -> corpus and benchmarks -> audits. Each rule gets only its slice of the specs through params
# and each country's work is a job of its own, so editing one spec, adding a country or rewording a
# question reruns only the jobs that use it (docs/data.md, "Add a country").


include: "inputs/data.smk"


# Trivial on a cluster: run on the submit host (profiles/slurm/).
localrules:
    audit_leakage,
    audit_counts,


rule synthetic_survey:
    """The embedded default: a synthetic WVS-7-format .sav from specs/synthetic.yaml (which lists the
    countries it holds, as a real file does: the study's countries spec is not an input)."""
    input:
        calibration=SPECS["synthetic"]["calibration"],
    output:
        SYNTHETIC_SURVEY,
    log:
        "logs/synthetic_survey.log",
    benchmark:
        "benchmarks/synthetic_survey.tsv"
    conda:
        "../envs/data.yaml"
    params:
        size=config["synthetic_size"],
        attributes=SYNTHETIC_ATTRIBUTES,
        questions=SYNTHETIC_QUESTIONS,
        synthetic=SPECS["synthetic"],
    script:
        "../scripts/synthetic_survey.py"


if config["data_source"] == "wvs":

    rule read_survey:
        """Read the survey file once: the needed WVS codes of every respondent, whatever the country."""
        input:
            survey=get_survey_file,
        output:
            codes="results/data/survey_codes.parquet",
            labels="results/data/survey_labels.json",
        log:
            "logs/read_survey.log",
        benchmark:
            "benchmarks/read_survey.tsv"
        conda:
            "../envs/data.yaml"
        threads: 2  # a large .sav/.dta is read in two row chunks
        params:
            variables=SURVEY_VARIABLES,
        script:
            "../scripts/read_survey.py"

    rule country_data:
        """One country: respondents with the 11 attribute labels and coded answers, and the entropy of
        every (profile, question) with the filter's decision."""
        input:
            codes=rules.read_survey.output.codes,
            labels=rules.read_survey.output.labels,
        output:
            respondents="results/data/countries/{country}/respondents.parquet",
            archetypes="results/data/countries/{country}/archetypes.parquet",
            missing="results/data/countries/{country}/missing.json",
        log:
            "logs/country_data/{country}.log",
        benchmark:
            "benchmarks/country_data/{country}.tsv"
        conda:
            "../envs/data.yaml"
        params:
            country=get_country,
            attributes=SPECS["attributes"],
            questions=QUESTION_CODING,
            filter=SPECS["filter"],
        script:
            "../scripts/country_data.py"

    rule country_pools:
        """One country's profiles drawn for each dataset (its role and the splits spec decide which)."""
        input:
            rules.country_data.output.archetypes,
        output:
            pools="results/data/countries/{country}/pools.parquet",
            sampling=reported("results/data/countries/{country}/sampling.json", "data/sampling", "sampling"),
        log:
            "logs/country_pools/{country}.log",
        benchmark:
            "benchmarks/country_pools/{country}.tsv"
        conda:
            "../envs/data.yaml"
        params:
            country=get_country_role,
            questions=QUESTION_ROLES,
            splits=SPECS["splits"],
        script:
            "../scripts/country_pools.py"

    rule corpus_datasets:
        """The training countries' corpus splits and cross-demographic benchmark (training questions)."""
        input:
            respondents=country_files("respondents", TRAIN_COUNTRIES),
            archetypes=country_files("archetypes", TRAIN_COUNTRIES),
            pools=country_files("pools", TRAIN_COUNTRIES),
        output:
            *[reported(dataset_path(split), "data/datasets", "corpus") for split in CORPUS_SPLITS],
            reported(dataset_path("cross_demographic"), "data/datasets", "benchmarks"),
        log:
            "logs/datasets/corpus.log",
        benchmark:
            "benchmarks/datasets/corpus.tsv"
        conda:
            "../envs/data.yaml"
        params:
            countries=TRAIN_COUNTRIES,
            questions=TRAIN_QUESTIONS,
            attribute_names=ATTRIBUTE_NAMES,
        script:
            "../scripts/datasets.py"

    # The two other benchmarks are the same job on other countries or questions (one rule cannot make
    # both: the corpus job writes four files, these one each), so they reuse its rule.
    use rule corpus_datasets as cross_value_dataset with:
        output:
            reported(dataset_path("cross_value"), "data/datasets", "benchmarks"),
        log:
            "logs/datasets/cross_value.log",
        benchmark:
            "benchmarks/datasets/cross_value.tsv"
        params:
            countries=TRAIN_COUNTRIES,
            questions=VALUE_QUESTIONS,  # the training countries' left-over profiles on the unseen questions
            attribute_names=ATTRIBUTE_NAMES,

    use rule corpus_datasets as cross_country_dataset with:
        input:
            respondents=country_files("respondents", CROSS_COUNTRIES),
            archetypes=country_files("archetypes", CROSS_COUNTRIES),
            pools=country_files("pools", CROSS_COUNTRIES),
        output:
            reported(dataset_path("cross_country"), "data/datasets", "benchmarks"),
        log:
            "logs/datasets/cross_country.log",
        benchmark:
            "benchmarks/datasets/cross_country.tsv"
        params:
            countries=CROSS_COUNTRIES,  # the test countries' profiles on the training questions
            questions=TRAIN_QUESTIONS,
            attribute_names=ATTRIBUTE_NAMES,

    rule study_tables:
        """The study's countries' respondents and archetypes in one table each (audits, analyses)."""
        input:
            respondents=country_files("respondents", COUNTRIES),
            archetypes=country_files("archetypes", COUNTRIES),
        output:
            **STUDY_TABLES,
        log:
            "logs/study_tables.log",
        benchmark:
            "benchmarks/study_tables.tsv"
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/gather_countries.py"

    rule audit_answer_identity:
        """Fails the build when a cross-value question repeats a training question's answers (one WVS
        variable read twice): the training countries' respondents, question against question."""
        input:
            country_files("respondents", TRAIN_COUNTRIES),
        output:
            reported("results/audit/answer_identity.json", "audits/answer_identity", "data audits"),
        log:
            "logs/audit_answer_identity.log",
        benchmark:
            "benchmarks/audit_answer_identity.tsv"
        conda:
            "../envs/data.yaml"
        params:
            questions=QUESTION_CODING,
            min_shared=20,  # respondents who answered both, all alike
        script:
            "../scripts/audit_answer_identity.py"

    rule audit_filtering:
        """Entropy distribution and demographic coverage before vs after filtering."""
        input:
            respondents=rules.study_tables.output.respondents,
            archetypes=rules.study_tables.output.archetypes,
        output:
            reported("results/audit/filtering.json", "audits/filtering", "data audits"),
        log:
            "logs/audit_filtering.log",
        benchmark:
            "benchmarks/audit_filtering.tsv"
        conda:
            "../envs/data.yaml"
        params:
            attribute_names=ATTRIBUTE_NAMES,
            filter=SPECS["filter"],
            corpus_countries=TRAIN_COUNTRIES,  # the paper states its shares over the corpus's samples
            corpus_questions=[q["id"] for q in TRAIN_QUESTIONS],
        script:
            "../scripts/audit_filtering.py"

else:

    rule import_release:
        """The released DVMap corpus stands in for the built one (same columns as dev.parquet)."""
        input:
            get_release_split,
        output:
            reported(DATASET_FILE, "data/datasets", "{folder}"),
        log:
            "logs/import_release/{folder}_{dataset}.log",
        benchmark:
            "benchmarks/import_release/{folder}_{dataset}.tsv"
        wildcard_constraints:
            folder="corpus|benchmarks",
        conda:
            "../envs/data.yaml"
        params:
            countries=SPECS["countries"]["countries"],
            attribute_names=ATTRIBUTE_NAMES,
            questions=[{"id": q["id"], "options": q["options"]} for q in QUESTIONS],  # ids and option order
            data_source="release",  # a file built from the survey differs in params: it is replaced, never reused
        script:
            "../scripts/import_release.py"


if config["data_source"] == "release":

    rule audit_release_prompts:
        """The kit's structured CoT prompts against the release's own `prompt` column, byte for byte."""
        input:
            release=get_release_files(),
            prompts=get_release_audit_prompts,
        output:
            reported("results/audit/release_prompts.json", "audits/release_prompts", "data audits"),
        log:
            "logs/audit_release_prompts.log",
        benchmark:
            "benchmarks/audit_release_prompts.tsv"
        conda:
            "../envs/data.yaml"
        params:
            datasets=AVAILABLE_DATASETS,
        script:
            "../scripts/audit_release_prompts.py"


rule audit_leakage:
    """Fails the build when any two datasets share a profile, or a benchmark holds trained countries or questions."""
    input:
        get_all_datasets(),
    output:
        reported("results/audit/leakage.json", "audits/leakage", "data audits"),
    log:
        "logs/audit_leakage.log",
    benchmark:
        "benchmarks/audit_leakage.tsv"
    conda:
        "../envs/data.yaml"
    params:
        countries=SPECS["countries"]["countries"],
        questions=SPECS["questions"]["questions"],
    script:
        "../scripts/audit_leakage.py"


rule audit_counts:
    """Samples and profiles per dataset, country and question."""
    input:
        datasets=get_all_datasets(),
        sampling=get_sampling_record(),
        missing=get_missing_record(),
    output:
        reported("results/audit/counts.json", "audits/counts", "data audits"),
    log:
        "logs/audit_counts.log",
    benchmark:
        "benchmarks/audit_counts.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/audit_counts.py"

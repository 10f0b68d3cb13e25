# Survey file -> respondents -> archetypes -> corpus and benchmarks -> audits.
# Each rule gets only its slice of the specs through params, so editing one spec reruns only
# the jobs that use it.

# Trivial on a cluster: run on the submit host (profiles/slurm/).
localrules:
    audit_leakage,
    audit_counts,


rule synthetic_survey:
    """The embedded default: a synthetic WVS-7-format .sav from specs/synthetic.yaml."""
    input:
        calibration=SPECS["synthetic"]["calibration"],
    output:
        SYNTHETIC_SURVEY,
    params:
        size=config["synthetic_size"],
        countries=SPECS["countries"],
        attributes=SPECS["attributes"],
        questions=SPECS["questions"],
        synthetic=SPECS["synthetic"],
    log:
        "logs/synthetic_survey.log",
    benchmark:
        "benchmarks/synthetic_survey.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/synthetic_survey.py"


if config["data_source"] == "wvs":

    rule read_survey:
        """Read the survey file: respondents with the 11 attribute labels and coded answers."""
        input:
            survey=get_survey_file,
        output:
            "results/data/respondents.parquet",
        params:
            countries=SPECS["countries"],
            attributes=SPECS["attributes"],
            questions=SPECS["questions"],
            use_weight=SPECS["filter"]["use_weight"],
        threads: 2  # a large .sav/.dta is read in two row chunks
        log:
            "logs/read_survey.log",
        benchmark:
            "benchmarks/read_survey.tsv"
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/read_survey.py"

    rule archetypes:
        """Entropy of the answers per (profile, question) and the filter's keep/drop decision."""
        input:
            "results/data/respondents.parquet",
        output:
            "results/data/archetypes.parquet",
        params:
            questions=SPECS["questions"]["questions"],
            filter=SPECS["filter"],
        log:
            "logs/archetypes.log",
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/archetypes.py"

    rule splits:
        """Country sampling and profile-disjoint splits: corpus and the three benchmarks."""
        input:
            respondents="results/data/respondents.parquet",
            archetypes="results/data/archetypes.parquet",
        output:
            datasets=get_all_datasets(),
            sampling="results/data/sampling.json",
        params:
            countries=SPECS["countries"]["countries"],
            questions=SPECS["questions"]["questions"],
            attribute_names=ATTRIBUTE_NAMES,
            splits=SPECS["splits"],
        log:
            "logs/splits.log",
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/splits.py"

    rule audit_filtering:
        """Entropy distribution and demographic coverage before vs after filtering."""
        input:
            respondents="results/data/respondents.parquet",
            archetypes="results/data/archetypes.parquet",
        output:
            "results/audit/filtering.json",
        params:
            attribute_names=ATTRIBUTE_NAMES,
            filter=SPECS["filter"],
        log:
            "logs/audit_filtering.log",
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/audit_filtering.py"

else:

    rule import_release:
        """The released DVMap corpus stands in for the built one (same columns as dev.parquet)."""
        input:
            get_release_split,
        output:
            "results/{folder}/{dataset}.parquet",
        wildcard_constraints:
            folder="corpus|benchmarks",
        params:
            countries=SPECS["countries"]["countries"],
            attribute_names=ATTRIBUTE_NAMES,
        log:
            "logs/import_release/{folder}_{dataset}.log",
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/import_release.py"


rule audit_leakage:
    """Fails the build when any two datasets share a profile, or a benchmark holds trained countries or questions."""
    input:
        get_all_datasets(),
    output:
        "results/audit/leakage.json",
    params:
        countries=SPECS["countries"]["countries"],
        questions=SPECS["questions"]["questions"],
    log:
        "logs/audit_leakage.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/audit_leakage.py"


rule audit_counts:
    """Samples and profiles per dataset, country and question."""
    input:
        datasets=get_all_datasets(),
        sampling=get_sampling_record(),
    output:
        "results/audit/counts.json",
    log:
        "logs/audit_counts.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/audit_counts.py"

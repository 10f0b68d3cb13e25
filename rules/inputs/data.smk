# Input functions and settings of the rules in rules/data.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).
from dvmap.data.release import SPLIT_USES

SYNTHETIC_SURVEY = f"results/synthetic/wvs7_synthetic_{config['synthetic_size']}.sav"


CROSS_COUNTRIES = [c for c, spec in COUNTRIES.items() if spec["role"] == "cross_country"]


VALUE_QUESTIONS = [q for q in QUESTIONS if q["role"] == "cross_value"]


QUESTION_ROLES = [{"id": q["id"], "role": q["role"]} for q in QUESTIONS]


# The synthetic file's answers follow each question's concept and neighbour, not its text.
SYNTHETIC_QUESTIONS = {"questions": [{k: v for k, v in q.items() if k not in ("text", "category")} for q in QUESTIONS]}


# ... and its attribute codes do not depend on what the study does with missing codes.
SYNTHETIC_ATTRIBUTES = {
    **SPECS["attributes"],
    "attributes": [
        {k: v for k, v in a.items() if k not in ("missing", "plausible")} for a in SPECS["attributes"]["attributes"]
    ],
}


SURVEY_VARIABLES = {  # what read_survey reads: the variables, not what they mean
    "attributes": {
        "attributes": [
            {k: a[k] for k in ("name", "wvs_var", "plausible") if k in a} | {"binned": "bins" in a}
            for a in SPECS["attributes"]["attributes"]
            if not a.get("from_countries")
        ]
    },
    "questions": {"questions": [{"wvs_var": q["wvs_var"], "id": q["id"]} for q in QUESTIONS]},
    "filter": {"use_weight": SPECS["filter"]["use_weight"]},
}


def get_survey_file(wildcards=None):
    return config["survey_file"] or SYNTHETIC_SURVEY


def get_country(wildcards):
    """A country's slice of the countries spec that its coded data depends on (not its role, nor
    its analysis fields)."""
    country = COUNTRIES[wildcards.country]
    # b_country (pooled B_COUNTRY codes) only where set, so a country of one code keeps its params
    return {k: country[k] for k in ("iso3", "iso_numeric", "b_country", "name") if k in country}


def get_country_role(wildcards):
    """What decides a country's pools: its codes and its role."""
    return {k: COUNTRIES[wildcards.country][k] for k in ("iso3", "iso_numeric", "role")}


def get_all_datasets(wildcards=None):
    return [dataset_path(d) for d in AVAILABLE_DATASETS]


def get_release_files():
    """The release folder's file (or datasets folder) of every split it has, in AVAILABLE_DATASETS' order."""
    return [str(find_release_split(config["release_dir"], d)) for d in AVAILABLE_DATASETS]


def get_release_split(wildcards):
    """The release's file of a dataset. A split the folder lacks is never taken from an earlier
    build from the survey (that file may still be in results/): a target needing it stops the run
    before any job, naming the split and what needs it (a message, not a traceback)."""
    found = find_release_split(config["release_dir"], wildcards.dataset)
    if found is None:
        sys.exit(
            f"DVMap configuration error: release_dir {config['release_dir']}: no {wildcards.dataset} split "
            f"({wildcards.dataset}.parquet or a datasets folder {wildcards.dataset}/), which a requested target "
            f"needs: {wildcards.dataset} is needed for {SPLIT_USES[wildcards.dataset]}; the folder has "
            f"{', '.join(AVAILABLE_DATASETS)}. The default target (no target named) runs what the folder's "
            f"splits allow; `train_models: []` and `eval_models: []` in a config file leave out training and "
            f"the models"
        )
    return str(found)


def get_release_audit_prompts(wildcards):
    """The kit's structured CoT prompts of every released split (the prompts rule is defined after this file)."""
    return [prompts_path("structured_cot", d) for d in AVAILABLE_DATASETS]


def get_sampling_record(wildcards=None):
    return country_files("sampling", COUNTRIES) if config["data_source"] == "wvs" else []


def get_missing_record(wildcards=None):
    """Per country: respondents with missing attribute codes, and those the attributes spec drops."""
    return country_files("missing", COUNTRIES) if config["data_source"] == "wvs" else []

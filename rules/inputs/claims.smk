# Input functions and settings of the rules in rules/claims.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).
from pathlib import Path


from dvmap.claims import claim_outputs

CLAIMS = SPECS["claims"]

# What each target of the Snakefile builds, computed from the plan: the stages' target lists
# (every file of each job they name). The Snakefile's `all`, `data`, `analyses` and `paper` take
# their inputs from here, and each judges the claims on its own files (rules/claims.smk), so what
# a claims job reads is a function of the specs, never of the command line.
_DATA, _EVAL = get_data_targets(), get_eval_targets()  # each stage's list computed once
_ANALYSES = [*get_analysis_targets(), *get_model_analysis_targets()]
TARGET_FILES = {
    "all": [*_DATA, *get_model_targets(), *_EVAL],
    "data": _DATA,
    "analyses": _ANALYSES,
    "paper": [*_DATA, *_EVAL, *get_experiment_targets(), *get_general_utility_targets(), *_ANALYSES],
}
CLAIMS_TARGETS = [t for t in TARGET_FILES if t != "all"]  # `all`, the default, writes results/claims.csv
BUILT = {target: {str(f) for f in files} for target, files in TARGET_FILES.items()}


def claims_target(wildcards):
    """The target whose claims a job judges: `all` for results/claims.csv, else the path's own."""
    return getattr(wildcards, "target", "all")


def claims_file(target):
    """Where a target's claims are written (the rules' own outputs; the Snakefile's targets and headline
    take them from here)."""
    if target == "all":
        return str(rules.claims.output.table)
    return expand(rules.target_claims.output.table, target=target)[0]


def release_claim_without_release(claim):
    """A claim about the authors' released corpus in a run that reads a survey: never judged here."""
    return claim.get("judged_on_release") and config["data_source"] != "release"


def runs_lacking(output):
    """For an ablation table or a scale table: the trained runs it needs that the default run does not train."""
    trained = {r.name for row in PLAN.main_rows for r in row.runs} | {
        n for m in config["train_models"] for n in run_names(m, MAIN, SEEDS)
    }
    rows = []
    for table, table_rows in PLAN.table_rows.items():
        if output in expand(list(rules.experiment_table.output), table=table):
            rows = table_rows
    if output in expand(list(rules.scale_figure.output), dataset=EXPERIMENTS["scale"]["datasets"]):
        rows = [r for _, base, dvmap in PLAN.scale_rows for r in (base, dvmap)]
    return sorted({r.name for row in rows for r in row.runs} - trained)


def built_by_no_target(output):
    """Why no target of this configuration builds `output` (a claims spec may name a table the
    experiments spec no longer declares; the released corpus has no respondents)."""
    if config["data_source"] == "release":
        lacking = [d for d in DATASETS if d not in AVAILABLE_DATASETS]
        splits = f", or from a split the folder lacks ({', '.join(lacking)})" if lacking else ""
        return (
            f"no target builds {output} from the released corpus (data_source: release): it is made from the "
            f"survey's respondents, which the release lacks{splits}"
        )
    return f"no target of this configuration builds {output} (do the specs still declare it?)"


def claim_not_run(claim, target):
    """Why the `target` target's claims job cannot judge a claim (None: it can), decided before any job."""
    if claim.get("pending"):
        return f"pending: {claim['pending']}"
    if release_claim_without_release(claim):
        return "a claim about the authors' released corpus: judged with data_source: release (release_dir) only"
    missing = [d for d in claim.get("needs", {}).get("datasets", []) if d not in AVAILABLE_DATASETS]
    if missing:
        return f"the released corpus (release_dir) lacks the {', '.join(missing)} split(s)"
    for output in claim_outputs(claim):
        builders = [t for t in TARGET_FILES if output in BUILT[t]]
        if not builders:
            return built_by_no_target(output)
        if target not in builders:
            lacking = runs_lacking(output)
            needs = f" (it needs the trained runs {', '.join(lacking)})" if lacking else ""
            smallest = min(builders, key=lambda t: len(BUILT[t]))
            return (
                f"{output} is not built by the `{target}` target{needs}; `snakemake --cores all {smallest}` "
                f"builds it and judges this claim in {claims_file(smallest)}"
            )
    return None


def get_claims_not_run(wildcards):
    """Claim id -> why this target's claims job cannot judge it."""
    target = claims_target(wildcards)
    reasons = {c["id"]: claim_not_run(c, target) for c in CLAIMS["claims"]}
    return {i: why for i, why in reasons.items() if why is not None}


def claims_evidence():
    """What this run's claims are judged on: the survey (a WVS-7 file, the synthetic demo survey or the
    released corpus) and whether it is the paper's data. The synthetic survey's sizes and shares are
    set by specs/synthetic.yaml, so a verdict on it speaks for the kit, never for or against the paper."""
    if config["data_source"] == "release":
        return {"survey": f"the released DVMap corpus ({Path(config['release_dir']).name})", "paper_data": True}
    if config["survey_file"] is None:
        return {"survey": f"the synthetic demo survey ({config['specs']['synthetic']})", "paper_data": False}
    return {"survey": f"the WVS-7 file {Path(config['survey_file']).name}", "paper_data": True}


def get_claims_inputs(wildcards):
    """The outputs of the claims this target's job can judge (each an output the target builds anyway)."""
    not_run = get_claims_not_run(wildcards)
    return sorted({o for c in CLAIMS["claims"] if c["id"] not in not_run for o in claim_outputs(c)})

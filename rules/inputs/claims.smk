# Input functions and settings of the rules in rules/claims.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).
import os
from pathlib import Path


from dvmap.claims import claim_outputs

CLAIMS = SPECS["claims"]


def producer(path):
    """The rule that makes `path`, or None when no rule makes it."""
    return next((r for r in workflow.rules if r.output and r.is_producer(path)), None)


def job_outputs(path):
    """Every output of the job that makes `path` (the files made with it), or [] when no rule makes it."""
    made_by = producer(path)
    return [str(o) for o in made_by.expand_output(made_by.get_wildcards(path))[0]] if made_by else []


def needs_respondents(output):
    """Outputs made from the survey's respondents, which a released corpus lacks: with the released
    corpus, what no rule makes (the survey's audits) and what reads the study tables (Figure 1)."""
    if config["data_source"] != "release":
        return False
    made_by = producer(output)
    return made_by is None or any(str(f) in STUDY_TABLES.values() for f in made_by.input if isinstance(f, str))


def release_claim_without_release(claim):
    """A claim about the authors' released corpus in a run that reads a survey: never judged here."""
    return claim.get("judged_on_release") and config["data_source"] != "release"


CLAIM_JOB_OUTPUTS = {o: job_outputs(o) for c in CLAIMS["claims"] for o in claim_outputs(c)}


for _claim in CLAIMS["claims"]:  # before any job: an output no rule makes (a pending claim's may not exist yet)
    _unmade = [o for o in claim_outputs(_claim) if not CLAIM_JOB_OUTPUTS[o] and not needs_respondents(o)]
    if _unmade and not _claim.get("pending") and not release_claim_without_release(_claim):
        sys.exit(
            f"DVMap configuration error: {config['specs']['claims']}: claim '{_claim['id']}': no rule makes "
            f"{', '.join(_unmade)}"
        )


def run_targets():
    """What this invocation builds, as files: the targets named on the command line (a target rule
    stands for its inputs), or the default target's; the claims files themselves left out."""
    claims_files = {str(f) for f in rules.claims.output}
    named = set(workflow.dag_settings.targets or ()) - {"claims", *claims_files}
    files = set()
    for target in named or {workflow.default_target}:
        if workflow.is_rule(target):
            r = workflow.get_rule(target)
            files |= {str(f) for f in r.input if isinstance(f, str)}
            files |= {str(f) for f in r.output} if not r.wildcard_names else set()
        else:
            files.add(os.path.relpath(target) if os.path.isabs(target) else os.path.normpath(target))
    return files - claims_files, sorted(named) or [workflow.default_target]


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


def claim_not_run(claim, targets, names):
    """Why the run cannot judge a claim (None: it can), decided before any job."""
    if claim.get("pending"):
        return f"pending: {claim['pending']}"
    if release_claim_without_release(claim):
        return "a claim about the authors' released corpus: judged with data_source: release (release_dir) only"
    for output in claim_outputs(claim):
        if needs_respondents(output):
            return f"{output} needs the survey's respondents, which the released corpus (data_source: release) lacks"
    missing = [d for d in claim.get("needs", {}).get("datasets", []) if d not in AVAILABLE_DATASETS]
    if missing:
        return f"the released corpus (release_dir) lacks the {', '.join(missing)} split(s)"
    for output in claim_outputs(claim):
        if not set(CLAIM_JOB_OUTPUTS[output]) & targets:
            lacking = runs_lacking(output)
            needs = f"; it needs the trained runs {', '.join(lacking)}" if lacking else ""
            return (
                f"{output} is not built by this run (targets: {', '.join(names)}){needs}; add it to the "
                f"run's targets (`snakemake --cores all all {output}`) or run the paper target"
            )
    return None


def get_claims_not_run(wildcards=None):
    """Claim id -> why this run cannot judge it."""
    targets, names = run_targets()
    reasons = {c["id"]: claim_not_run(c, targets, names) for c in CLAIMS["claims"]}
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
    """The outputs of the claims this run can judge (each an output the run builds anyway)."""
    not_run = get_claims_not_run()
    return sorted({o for c in CLAIMS["claims"] if c["id"] not in not_run for o in claim_outputs(c)})

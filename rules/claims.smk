# The paper's claims (specs/claims.yaml; verdict rules in docs/claims.md) judged on what this run
# builds: results/claims.csv and results/claims.md. The claims rule reads only the outputs of the
# run's own targets (`snakemake`: the default target; `snakemake paper`: the paper's; files named
# on the command line), so judging never trains or evaluates a model the run would not; a claim
# whose output the run does not build is `not run`, with what it lacks. Included last: the check
# below needs every rule that makes an output.


include: "inputs/claims.smk"


localrules:
    claims,


rule claims:
    """The paper's claims judged on this run's outputs: paper's value, kit's value with CI and n, verdict."""
    input:
        get_claims_inputs,
    output:
        table=report(
            "results/claims.csv",
            caption="../report/claims/claims.rst",
            category=REPORT_CATEGORIES["claims"],
        ),
        markdown="results/claims.md",
        report_table="results/report/claims.csv",  # the table as the report shows it: spec text escaped
    log:
        "logs/claims.log",
    benchmark:
        "benchmarks/claims.tsv"
    conda:
        "../envs/data.yaml"
    params:
        claims=CLAIMS["claims"],
        stand_ins=CLAIMS.get("stand_ins", {}),
        not_run=get_claims_not_run,
        evidence=claims_evidence(),
        paper_models=CLAIMS.get("paper_models", []),
    script:
        "../scripts/claims.py"

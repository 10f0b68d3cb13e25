"""Snakemake adapter: the paper's claims judged on one target's outputs (results/claims.csv, .md, or
results/claims/{target}.csv, .md)."""
from pathlib import Path

from dvmap.claims import claims_markdown, judge_claims, read_output, report_copy, summary_line
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    inputs = set(sm.input)

    def read(path):
        if path not in inputs:  # the DAG decided what each claim reads (rules/claims.smk)
            raise KeyError(f"{path} is not an input of the claims rule")
        return read_output(path)

    table = judge_claims(sm.params.claims, read, sm.params.stand_ins, sm.params.not_run, sm.params.evidence,
                         sm.params.paper_models)
    table.to_csv(sm.output.table, index=False)
    Path(sm.output.markdown).write_text(claims_markdown(table), encoding="utf-8")
    report_copy(table).to_csv(sm.output.report_table, index=False)
    log.info("claims: %s", summary_line(table))

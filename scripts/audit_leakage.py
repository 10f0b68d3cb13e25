"""Snakemake adapter: leakage audit. Writes the report, then fails the job if anything leaks
(Snakemake removes the output of a failed job, so nothing downstream runs)."""
from pathlib import Path

import pandas as pd

from dvmap.data.audit import assert_no_leakage, leakage_report
from dvmap.files import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    datasets = {Path(p).stem: pd.read_parquet(p, columns=["profile_id", "country", "q_id"]) for p in sm.input}
    report = leakage_report(datasets, sm.params.countries, sm.params.questions)
    write_json(report, sm.output[0])
    log.info("leakage audit: %s", "ok" if report["ok"] else report["violations"])
    assert_no_leakage(report)

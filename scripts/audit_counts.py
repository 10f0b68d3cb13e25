"""Snakemake adapter: counts per dataset, country and question; sampling shortfalls and the respondents
that missing attribute codes drop, per country."""
import json
from pathlib import Path

import pandas as pd

from dvmap.data.audit import counts_report
from dvmap.files import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    datasets = {Path(p).stem: pd.read_parquet(p, columns=["profile_id", "country", "q_id"]) for p in sm.input.datasets}
    # every country's record (each sampling.json holds its own country's shortfalls)
    shortfalls = [s for path in sm.input.sampling for s in json.loads(Path(path).read_text())["shortfalls"]]
    missing = [json.loads(Path(path).read_text()) for path in sm.input.missing]
    write_json(counts_report(datasets, shortfalls, missing), sm.output[0])

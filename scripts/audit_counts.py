"""Snakemake adapter: counts per dataset, country and question."""
import json
from pathlib import Path

import pandas as pd

from dvmap.data.audit import counts_report
from dvmap.files import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    datasets = {Path(p).stem: pd.read_parquet(p, columns=["profile_id", "country", "q_id"]) for p in sm.input.datasets}
    shortfalls = json.loads(Path(sm.input.sampling[0]).read_text())["shortfalls"] if sm.input.sampling else []
    write_json(counts_report(datasets, shortfalls), sm.output[0])

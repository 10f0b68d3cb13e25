"""Snakemake adapter: archetypes -> corpus splits and benchmarks (+ sampling record)."""
from pathlib import Path

import pandas as pd

from dvmap.archetypes import profile_table
from dvmap.io import logged, write_json, write_parquet
from dvmap.splits import build_datasets

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    names = sm.params.attribute_names
    profiles = profile_table(pd.read_parquet(sm.input.respondents), names)
    datasets, shortfalls = build_datasets(pd.read_parquet(sm.input.archetypes), profiles, sm.params.countries,
                                          sm.params.questions, names, sm.params.splits)
    for path in sm.output.datasets:
        name = Path(path).stem
        write_parquet(datasets[name], path)
        log.info("%s: %d samples, %d profiles", name, len(datasets[name]), datasets[name]["profile_id"].nunique())
    for s in shortfalls:
        log.warning("%(country)s %(pool)s: %(assigned)d of %(requested)d profiles available", s)
    write_json({"shortfalls": shortfalls}, sm.output.sampling)

"""Snakemake adapter: the per-country archetypes and pools of a group of countries -> datasets
(the corpus splits and cross_demographic, cross_value, or cross_country), one file each."""
from pathlib import Path

import pandas as pd

from dvmap.archetypes import profile_table
from dvmap.io import logged, write_parquet
from dvmap.splits import build_datasets

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    names = sm.params.attribute_names
    wanted = [Path(p).stem for p in sm.output]
    profiles = profile_table(pd.concat([pd.read_parquet(p) for p in sm.input.respondents], ignore_index=True), names)
    archetypes = pd.concat([pd.read_parquet(p) for p in sm.input.archetypes], ignore_index=True)
    pools = pd.concat([pd.read_parquet(p) for p in sm.input.pools], ignore_index=True)
    countries = [{"iso3": c} for c in sm.params.countries]
    datasets, _ = build_datasets(archetypes, profiles, countries, sm.params.questions, names, {},
                                 pools[pools["dataset"].isin(wanted)], names=wanted)
    for path in sm.output:
        name = Path(path).stem
        write_parquet(datasets[name], path)
        log.info("%s: %d samples, %d profiles", name, len(datasets[name]), datasets[name]["profile_id"].nunique())

"""Snakemake adapter: the per-country archetypes and pools of a group of countries -> datasets
(the corpus splits and cross_demographic, cross_value, or cross_country), one file each."""
from pathlib import Path

from dvmap.data.archetypes import profile_table
from dvmap.data.splits import build_datasets, check_not_empty
from dvmap.files import logged, read_parquets, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    names = sm.params.attribute_names
    wanted = [Path(p).stem for p in sm.output]
    profiles = profile_table(read_parquets(sm.input.respondents), names)
    archetypes, pools = read_parquets(sm.input.archetypes), read_parquets(sm.input.pools)
    countries = [{"iso3": c} for c in sm.params.countries]
    datasets, _ = build_datasets(archetypes, profiles, countries, sm.params.questions, names, {},
                                 pools[pools["dataset"].isin(wanted)], names=wanted)
    check_not_empty(datasets, pools, archetypes)  # a benchmark of 0 samples would make a table of 0 samples
    for path in sm.output:
        name = Path(path).stem
        write_parquet(datasets[name], path)
        log.info("%s: %d samples, %d profiles", name, len(datasets[name]), datasets[name]["profile_id"].nunique())

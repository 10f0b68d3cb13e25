"""Snakemake adapter: one country's archetypes -> the profiles drawn for each dataset, and where
fewer were available than the splits spec asks."""
import pandas as pd

from dvmap.data.splits import country_pools
from dvmap.files import logged, write_json, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    country = sm.params.country
    pools, shortfalls = country_pools(pd.read_parquet(sm.input[0]), country, sm.params.questions, sm.params.splits)
    write_parquet(pools, sm.output.pools)
    write_json({"country": country["iso3"], "shortfalls": shortfalls}, sm.output.sampling)
    for pool, n in pools["dataset"].value_counts().sort_index().items():
        log.info("%s %s: %d profiles", country["iso3"], pool, n)
    for s in shortfalls:
        log.warning("%(country)s %(pool)s: %(assigned)d of %(requested)d profiles available", s)

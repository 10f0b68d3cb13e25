"""Snakemake adapter: the training countries' respondents -> a filter variant's archetype table."""
import pandas as pd

from dvmap.archetypes import archetype_table
from dvmap.io import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    respondents = pd.concat([pd.read_parquet(p) for p in sm.input], ignore_index=True)
    table = archetype_table(respondents, sm.params.questions, sm.params.filter)
    write_parquet(table, sm.output[0])
    log.info("%d (profile, question) pairs, %d kept by the '%s' filter", len(table), table["kept"].sum(),
             sm.params.filter["rule"])

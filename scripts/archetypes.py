"""Snakemake adapter: respondents -> results/data/archetypes.parquet."""
import pandas as pd

from dvmap.archetypes import archetype_table
from dvmap.io import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    table = archetype_table(pd.read_parquet(sm.input[0]), sm.params.questions, sm.params.filter)
    write_parquet(table, sm.output[0])
    log.info("%d (profile, question) pairs, %d kept by the '%s' filter", len(table), table["kept"].sum(),
             sm.params.filter["rule"])

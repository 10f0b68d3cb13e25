"""Snakemake adapter: the training countries' respondents -> a filter variant's archetype table."""

from dvmap.data.archetypes import archetype_table
from dvmap.files import logged, read_parquets, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    table = archetype_table(read_parquets(sm.input), sm.params.questions, sm.params.filter)
    write_parquet(table, sm.output[0])
    log.info("%d (profile, question) pairs, %d kept by the '%s' filter", len(table), table["kept"].sum(),
             sm.params.filter["rule"])

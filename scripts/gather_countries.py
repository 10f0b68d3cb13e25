"""Snakemake adapter: the study's countries' respondents and archetypes in one table each (for the
audits and analyses that look across countries)."""
import pandas as pd

from dvmap.io import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    for kind in ("respondents", "archetypes"):
        table = pd.concat([pd.read_parquet(p) for p in sm.input[kind]], ignore_index=True)
        write_parquet(table, sm.output[kind])
        log.info("%s: %d rows from %d countries", kind, len(table), len(sm.input[kind]))

"""Snakemake adapter: the study's countries' respondents and archetypes in one table each (for the
audits and analyses that look across countries)."""

from dvmap.files import logged, read_parquets, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    for kind in ("respondents", "archetypes"):
        table = read_parquets(sm.input[kind])
        write_parquet(table, sm.output[kind])
        log.info("%s: %d rows from %d countries", kind, len(table), len(sm.input[kind]))

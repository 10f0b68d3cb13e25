"""Snakemake adapter: a filter variant's archetypes + the main corpus's profiles -> its corpus."""
from pathlib import Path

import pandas as pd

from dvmap.data.archetypes import profile_table
from dvmap.data.splits import relabel_corpus
from dvmap.files import logged, read_parquets, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    names = sm.params.attribute_names
    corpus = {Path(p).stem: pd.read_parquet(p) for p in sm.input.corpus}
    profiles = profile_table(read_parquets(sm.input.respondents), names)
    countries = [{"iso3": c} for c in sm.params.countries]
    datasets = relabel_corpus(corpus, pd.read_parquet(sm.input.archetypes), profiles, countries,
                              sm.params.questions, names)
    for path in sm.output:
        name = Path(path).stem
        write_parquet(datasets[name], path)
        log.info("%s: %d samples (main corpus: %d), %d profiles", name, len(datasets[name]), len(corpus[name]),
                 datasets[name]["profile_id"].nunique())

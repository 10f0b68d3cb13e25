"""Snakemake adapter: render one template over one dataset."""
from pathlib import Path

import pandas as pd

from dvmap.data.prompts import environment, render_prompts
from dvmap.files import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    samples = pd.read_parquet(sm.input.dataset)
    env = environment(Path(sm.input.templates[0]).parent)
    write_parquet(render_prompts(samples, sm.params.attribute_names, sm.params.template, env), sm.output[0])
    log.info("%d prompts", len(samples))

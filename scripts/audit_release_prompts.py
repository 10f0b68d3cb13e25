"""Snakemake adapter: the kit's structured CoT prompts against the released corpus's own prompts."""
from pathlib import Path

import pandas as pd

from dvmap.data.audit import release_prompts_report
from dvmap.data.release import read_release_split
from dvmap.files import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    names = sm.params.datasets
    released = {n: read_release_split(Path(p)) for n, p in zip(names, sm.input.release)}
    rendered = {n: pd.read_parquet(p, columns=["prompt"]) for n, p in zip(names, sm.input.prompts)}
    report = release_prompts_report(released, rendered)
    write_json(report, sm.output[0])
    log.info("%d of %d released prompts rendered byte for byte", report["identical"], report["prompts_given"])

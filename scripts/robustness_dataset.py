"""Snakemake adapter: one robustness dataset from the cross-demographic samples."""
import pandas as pd

from dvmap.analyses.robustness import check_robustness_dataset, robustness_dataset
from dvmap.files import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    name, spec = sm.wildcards.robustness, sm.params.spec
    samples = pd.read_parquet(sm.input[0])
    frame = robustness_dataset(name, samples, spec, sm.params.attribute_names)
    check_robustness_dataset(frame, samples, sm.params.attribute_names,
                             changed=[spec["income_flip"]["attribute"]] if name == "income_flip" else [])
    write_parquet(frame, sm.output[0])
    log.info("%s: %d samples from %d cross-demographic samples", name, len(frame), len(samples))

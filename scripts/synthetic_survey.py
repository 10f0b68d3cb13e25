"""Snakemake adapter: write the synthetic WVS-7 .sav."""
from dvmap.data.synthetic import synthetic_frame, write_sav
from dvmap.files import logged
from dvmap.specs import read_yaml

sm = snakemake  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]) as log:
    specs = {k: sm.params[k] for k in ("attributes", "questions", "synthetic")}
    frame, value_labels, column_labels = synthetic_frame(specs, sm.params.size, read_yaml(sm.input.calibration))
    write_sav(frame, value_labels, column_labels, sm.output[0])
    log.info("wrote %s: %d respondents x %d columns", sm.output[0], *frame.shape)

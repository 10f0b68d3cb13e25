"""Snakemake adapter: score one model's predictions on one dataset."""
import pandas as pd

from dvmap.contracts import check_predictions
from dvmap.evaluate.metrics import parse_predictions, score
from dvmap.files import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    predictions = pd.read_parquet(sm.input.predictions)
    check_predictions(predictions, sm.input.predictions)  # the predictions' contract (dvmap/contracts.py)
    parsed = parse_predictions(predictions, pd.read_parquet(sm.input.dataset))
    result = {"model": sm.wildcards.model, "template": sm.wildcards.template, "dataset": sm.wildcards.dataset,
              **score(parsed, sm.params.seed)}
    write_json(result, sm.output[0])
    log.info("acc %.4f, lc %.4f (parsed only %.4f) (n %d, parse failures %.3f)", result["acc"], result["lc"],
             result["lc_parsed"], result["n"], result["parse_failure_rate"])

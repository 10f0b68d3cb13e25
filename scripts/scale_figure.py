"""Snakemake adapter: metrics across model sizes, base vs DVMap (Figures 4, 6, 7)."""
import json

from dvmap.evaluate.tables import scale_figure, scale_table
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    dataset = sm.wildcards.dataset
    files = iter(sm.input.scores)  # per size: the base's files, then the DVMap model's, one per seed
    scores = {}
    for _, base, dvmap in sm.params.sizes:
        for row in (base, dvmap):
            scores[row["name"]] = [json.loads(open(next(files)).read()) for _ in row["files"]]
    table = scale_table(sm.params.sizes, scores, dataset)
    table.to_csv(sm.output.table, index=False)
    references = {name: json.loads(open(path).read()) for name, path in zip(sm.params.references, sm.input.references)}
    scale_figure(table, references, f"{dataset}: metrics across model sizes (error bars: SD over seeds)",
                 sm.output.figure)

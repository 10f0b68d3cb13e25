"""Snakemake adapter: Figure 5, accuracy per value category (and question) vs answer entropy, every row."""
import pandas as pd

from dvmap.analyses.model_figures import entropy_accuracy_figure
from dvmap.analyses.model_stats import ENTROPY_ACCURACY_COLUMNS, entropy_accuracy
from dvmap.contracts import written_columns
from dvmap.evaluate.metrics import parse_predictions
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    samples = pd.read_parquet(sm.input.dataset)
    points, correlations = [], []
    for name, _template, kind, files in sm.params.rows:
        correct = [parse_predictions(pd.read_parquet(f), samples)["correct"].to_numpy() for f in files]
        for level in ("category", "question"):
            p, summary = entropy_accuracy(samples, correct, level, sm.params.resamples, sm.params.seed,
                                           sm.params.unit)
            p.insert(0, "level", level)
            p.insert(0, "kind", kind)
            p.insert(0, "model", name)
            points.append(p)
            note = (f"r across {summary['n_points']} {'value categories' if level == 'category' else 'questions'}: "
                    f"with so few points the CI is wide" if summary["n_points"] < 10 else "")
            correlations.append({"model": name, "kind": kind, "level": level, **summary, "note": note})
            log.info("%s %s: r = %.3f [%.3f, %.3f] over %d points", name, level, summary["r"], summary["r_ci_low"],
                     summary["r_ci_high"], summary["n_points"])
    points, correlations = pd.concat(points, ignore_index=True), pd.DataFrame(correlations)
    points.round(4).to_csv(sm.output.points, index=False)
    written_columns(correlations.round(4), ENTROPY_ACCURACY_COLUMNS, sm.output.correlations).to_csv(
        sm.output.correlations, index=False)
    entropy_accuracy_figure(points, correlations, "cross_demographic", sm.output.figure)

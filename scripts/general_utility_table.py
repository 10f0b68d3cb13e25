"""Snakemake adapter: Table 11 (base vs DVMap, general utility) from lm-eval's results JSON files."""
import json

import pandas as pd

from dvmap.evaluate.general_utility import parse_results, seeds_table, utility_table
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    parsed = []
    for run in sm.params.runs:
        with open(run["path"], encoding="utf-8") as fh:
            rows = parse_results(json.load(fh), run["tasks"], run["path"])
        parsed.append(rows.assign(**{k: run[k] for k in ("pair", "side", "run", "task_set")}))
    runs = pd.concat(parsed, ignore_index=True)
    table = utility_table(runs, sm.params.tolerance)
    table.to_csv(sm.output.table, index=False)
    seeds_table(runs).to_csv(sm.output.seeds, index=False)
    for row in table.itertuples():
        log.info("%s %s %s: base %.4f, DVMap %.4f, diff %+.4f [%+.4f, %+.4f] (n %d, %d seed(s))", row.pair, row.task,
                 row.metric, row.base, row.dvmap, row.diff, row.diff_ci_low, row.diff_ci_high, row.n, row.n_seeds)

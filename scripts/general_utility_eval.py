"""Snakemake adapter: run lm-eval on one model run and one task set; write its raw results JSON."""
import logging
from pathlib import Path

import torch

from dvmap.evaluate.general_utility import parse_results, run_lm_eval, write_results
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    torch.set_num_threads(sm.threads)
    lm_eval_logger = logging.getLogger("lm_eval")  # lm-eval's own messages go to the log too
    lm_eval_logger.setLevel(logging.INFO)
    lm_eval_logger.addHandler(log.handlers[-1])
    arguments = dict(sm.params.arguments)
    log.info("lm_eval.simple_evaluate(%s)", arguments)
    results = run_lm_eval(arguments, sorted({str(Path(p).parent) for p in sm.input.task_yamls}))
    write_results(results, sm.output[0])
    for row in parse_results(results, arguments["tasks"], sm.output[0]).itertuples():
        log.info("%s %s (%s): %.4f +- %.4f (n %d)", row.task, row.metric, row.filter, row.value, row.stderr, row.n)

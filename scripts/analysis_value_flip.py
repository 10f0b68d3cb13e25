"""Snakemake adapter: Figure 8, share of answers that change under the robustness datasets, every row."""
import pandas as pd

from dvmap.analyses.model_figures import value_flip_figure
from dvmap.analyses.model_stats import VALUE_FLIP_BY_QUESTION_COLUMNS, VALUE_FLIP_COLUMNS, change_rates
from dvmap.analyses.robustness import pair_count_interval, pair_predictions, reference_note
from dvmap.contracts import written_columns
from dvmap.evaluate.metrics import parse_predictions
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    samples = pd.read_parquet(sm.input.original)
    originals = {name: files for name, _t, _k, files in sm.params.original}
    parsed_original = {}
    frames, by_question = [], []
    for perturbation, dataset_file in zip(sm.params.perturbed, sm.input.datasets):
        dataset = pd.read_parquet(dataset_file)
        for name, _template, kind, files in sm.params.perturbed[perturbation]:
            if len(files) != len(originals[name]):
                raise ValueError(f"{name}: {len(originals[name])} original but {len(files)} {perturbation} "
                                 "prediction files")
            if name not in parsed_original:
                parsed_original[name] = [parse_predictions(pd.read_parquet(f), samples) for f in originals[name]]
            pairs = [pair_predictions(o, parse_predictions(pd.read_parquet(f), dataset), dataset)
                     for o, f in zip(parsed_original[name], files)]
            rates = change_rates(pairs, sm.params.resamples, sm.params.seed)
            # the number of pairs is itself a draw (the benchmark's profiles): its interval, overall row only
            low, high = pair_count_interval(samples, dataset)
            rates["n_pairs_draw_low"] = [round(low, 1), *[float("nan")] * (len(rates) - 1)]
            rates["n_pairs_draw_high"] = [round(high, 1), *[float("nan")] * (len(rates) - 1)]
            per_question = change_rates(pairs, sm.params.resamples, sm.params.seed, by="q_id")
            for column, value in (("perturbation", perturbation), ("kind", kind), ("model", name)):
                per_question.insert(0, column, value)
            by_question.append(per_question)
            rates.insert(0, "perturbation", perturbation)
            rates.insert(0, "kind", kind)
            rates.insert(0, "model", name)
            rates["note"] = reference_note(name, perturbation) if kind == "reference predictor" else ""
            frames.append(rates)
            overall = rates.iloc[0]
            log.info("%s %s: %.3f [%.3f, %.3f] of %d pairs", name, perturbation, overall["rate"],
                     overall["rate_ci_low"], overall["rate_ci_high"], overall["n_pairs"])
    table = pd.concat(frames, ignore_index=True)
    written_columns(table.round(4), VALUE_FLIP_COLUMNS, sm.output.table).to_csv(sm.output.table, index=False)
    questions = pd.concat(by_question, ignore_index=True)
    written_columns(questions.round(4), VALUE_FLIP_BY_QUESTION_COLUMNS, sm.output.by_question).to_csv(
        sm.output.by_question, index=False)
    value_flip_figure(table, sm.output.figure, questions)

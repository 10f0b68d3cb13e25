"""The released DVMap corpus as a data source: its parquet splits (or Hugging Face arrow folders)
converted to the kit's sample schema, so they stand in for the built corpus."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dvmap.contracts import check_release
from dvmap.data.archetypes import profile_ids
from dvmap.data.splits import QUESTION_COLUMNS, SAMPLE_COLUMNS, with_frequency
from dvmap.errors import SurveyFileError

RELEASE_COLUMNS = ["Q_id", "Country", "frequency", "Category", "Question", "Options", "answer"]


def find_release_split(release_dir: str | Path, dataset: str) -> Path | None:
    """`{dataset}.parquet` or a `datasets` folder `{dataset}/` inside the release folder."""
    root = Path(release_dir)
    for candidate in (root / f"{dataset}.parquet", root / dataset):
        if candidate.exists():
            return candidate
    return None


def read_release_split(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if path.is_dir():
        import datasets

        return datasets.load_from_disk(str(path)).to_pandas()
    return pd.read_parquet(path)


OPTION_SEPARATOR = ", "  # the release's Options column: the options joined by it


def check_questions_and_options(release: pd.DataFrame, questions: Sequence[Mapping], file: str) -> None:
    """Every row's question is one of the questions spec, with the spec's options in the spec's order.
    The answer index (and so LC and WD) counts positions in that order: a row listing the same options
    in another order would give one answer two indices. Both errors name the question and the rows."""
    spec = {q["id"]: OPTION_SEPARATOR.join(q["options"]) for q in questions}
    q_ids = release["Q_id"].astype(str)
    unknown = q_ids[~q_ids.isin(list(spec))]
    if len(unknown):
        counts = unknown.value_counts(sort=False)
        named = ", ".join(f"{q} ({n} rows, first row {unknown.index[unknown == q][0]})" for q, n in counts.items())
        raise SurveyFileError(file, f"column Q_id: questions not in the questions spec: {named} (add them to the "
                                    f"questions spec, or remove those rows)")
    differs = release["Options"].astype(str).to_numpy() != q_ids.map(spec).to_numpy()
    if differs.any():
        rows = release.index[differs]
        first = rows[0]
        q, given, expected = q_ids[first], str(release["Options"][first]), spec[q_ids[first]]
        how = ("the same options in another order" if sorted(given.split(OPTION_SEPARATOR)) ==
               sorted(expected.split(OPTION_SEPARATOR)) else "other options")
        per_question = ", ".join(f"{k}: {n}" for k, n in q_ids[differs].value_counts(sort=False).items())
        raise SurveyFileError(file, f"column Options: {len(rows)} rows list options other than the questions spec's, "
                                    f"in that order ({per_question}); first: row {first} ({q}) has {how}, {given!r}, "
                                    f"where the spec has {expected!r}; rows {rows[:10].tolist()} differ (an answer "
                                    f"index counts positions in the spec's order, so one order per question)")


def release_to_samples(release: pd.DataFrame, attribute_names: Sequence[str], countries: Sequence[Mapping],
                       file: str, questions: Sequence[Mapping]) -> pd.DataFrame:
    """Kit schema from release columns (Q_id, Country, 11 attributes, Question, Options, answer, ...).
    `questions`: the questions spec's entries (id and options), which every row must match."""
    missing = [c for c in [*RELEASE_COLUMNS, *attribute_names] if c not in release.columns]
    if missing:
        raise SurveyFileError(file, f"missing release columns {missing}")
    iso3_of = {c["name"]: c["iso3"] for c in countries}
    unknown = sorted(set(release["Country"]) - set(iso3_of))
    if unknown:
        raise SurveyFileError(file, f"column Country: names not in the countries spec: {unknown[:5]}")
    out = release.reset_index(drop=True)
    check_questions_and_options(out, questions, file)
    options = out["Options"].str.split(OPTION_SEPARATOR)
    answer_index = [opts.index(a) if isinstance(opts, list) and a in opts else -1
                    for opts, a in zip(options, out["answer"])]
    samples = pd.DataFrame({"profile_id": profile_ids(out, attribute_names).to_numpy(), "q_id": out["Q_id"],
                            "country": out["Country"].map(iso3_of)})
    check_release(out, samples["profile_id"], attribute_names, file)  # the release's contract (dvmap/contracts.py)
    # A profile answers a question once in the release; several respondents may share a profile,
    # so number repeats to keep sample ids unique and stable.
    base = samples["profile_id"] + "-" + samples["q_id"]
    repeat = base.groupby(base).cumcount()
    samples.insert(0, "sample_id", base.where(repeat == 0, base + "-" + repeat.astype(str)))
    bad = [i for i, k in enumerate(answer_index) if k < 0]
    if bad:  # the count and the first rows, so the faulty ones can be found in the release
        first = "; ".join(f"row {i} ({samples['sample_id'][i]}, {out['Q_id'][i]}): {out['answer'][i]!r} not in "
                          f"{out['Options'][i]!r}" for i in bad[:5])
        raise SurveyFileError(file, f"column answer: {len(bad)} of {len(out)} answers are not among their Options; "
                                    f"first: {first}")
    for a in attribute_names:
        samples[a] = out[a]
    samples = samples.assign(question=out["Question"], options=options, answer=out["answer"],
                             answer_index=pd.Series(answer_index, dtype="int64"), category=out["Category"],
                             n_respondents=pd.Series(1, index=out.index, dtype="int64"), entropy=0.0)
    samples["frequency"] = with_frequency(samples)
    return samples[[*SAMPLE_COLUMNS, *attribute_names, *QUESTION_COLUMNS]]


# ---- the release route: what a release folder's splits allow ---------------------------------------
# What each split is needed for: the route's notes and the error of a target needing a missing split name it.
SPLIT_USES = {
    "train": "training (GRPO trains on train), the local models' base (tokenizer and format warm-up trained on "
             "train) and the reference predictors (fitted on train)",
    "dev": "training (each GRPO run's checkpoint is chosen on dev)",
    "test": "the results on the released corpus's held-out split (results/tables/test.csv)",
    "cross_demographic": "Table 2 (results/table2.csv) and the model analyses on it (Figures 5 and 8)",
    "cross_country": "the cross-country results (results/tables/cross_country.csv, Figure 9)",
    "cross_value": "the cross-value results (results/tables/cross_value.csv, Table 12)",
}


def eval_model_splits(eval_spec: Mapping) -> tuple[str, ...]:
    """The released splits an evaluated model needs: a trained model train and dev, a local base
    model train (its tokenizer and warm-up), a hub model none."""
    weights = eval_spec["weights"]
    if "trained" in weights:
        return ("train", "dev")
    if "base_of" in weights:
        return ("train",)
    return ()


@dataclass(frozen=True)
class ReleaseRoute:
    """What the default target runs on a release folder: the models trained and evaluated, the
    reference predictors, the evaluated splits, and a note for everything left out."""
    splits: tuple[str, ...]
    train_models: tuple[str, ...]
    eval_models: tuple[str, ...]
    reference_predictors: tuple[str, ...]
    eval_datasets: tuple[str, ...]
    notes: tuple[str, ...]


def _no(splits: Sequence[str]) -> str:
    return f"no {splits[0]} split" if len(splits) == 1 else f"no {', '.join(splits[:-1])} or {splits[-1]} split"


def release_route(splits: Sequence[str], train_models: Sequence[str], eval_models: Sequence[str],
                  eval_specs: Mapping[str, Mapping], reference_predictors: Sequence[str],
                  eval_datasets: Sequence[str]) -> ReleaseRoute:
    """The route of a release folder holding `splits`: the configured models, reference predictors
    and benchmarks whose splits it has, plus the released `test` split (the corpus's held-out split,
    evaluated whenever the folder has it); a note names each missing split and what it leaves out."""
    have = set(splits)
    notes = []

    def lacking(needed: Sequence[str]) -> list[str]:
        return [s for s in needed if s not in have]

    missing = lacking(("train", "dev"))
    trainable = [] if missing else list(train_models)
    if train_models and missing:
        uses = "; ".join(f"{s} is needed for {SPLIT_USES[s]}" for s in missing)
        notes.append(f"{_no(missing)}: {', '.join(train_models)} not trained ({uses})")
    evaluable = [m for m in eval_models if not lacking(eval_model_splits(eval_specs[m]))]
    dropped = [m for m in eval_models if m not in evaluable]
    if dropped:
        notes.append(f"{_no(lacking(('train', 'dev')))}: {', '.join(dropped)} not evaluated (trained on train with "
                     f"a checkpoint chosen on dev, or a local base built on train)")
    references = list(reference_predictors) if "train" in have else []
    if reference_predictors and not references:
        notes.append(f"no train split: the reference predictors ({', '.join(reference_predictors)}) not run "
                     f"(they are fitted on train)")
    datasets = [d for d in eval_datasets if d in have]
    absent = [d for d in eval_datasets if d not in have]
    if "test" in have and "test" not in datasets:
        datasets.append("test")
    if absent:
        uses = "; ".join(f"{d} is needed for {SPLIT_USES[d]}" for d in absent)
        notes.append(f"{_no(absent)}: not evaluated ({uses})")
    if not (evaluable or references):
        datasets = []
    elif datasets:
        notes.append(f"evaluated on {', '.join(datasets)}: {', '.join(f'results/tables/{d}.csv' for d in datasets)}")
    else:
        notes.append(f"nothing to evaluate on: no test split and none of {', '.join(eval_datasets)}")
    return ReleaseRoute(tuple(splits), tuple(trainable), tuple(evaluable), tuple(references), tuple(datasets),
                        tuple(notes))

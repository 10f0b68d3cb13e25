"""The released DVMap corpus as a data source: its parquet splits (or Hugging Face arrow folders)
converted to the kit's sample schema, so they stand in for the built corpus."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
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

"""Country sampling and profile-disjoint splits: the corpus (train/dev/test) and the three
generalization benchmarks (cross_demographic, cross_value, cross_country)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.errors import DVMapError

CORPUS_SPLITS = ("train", "dev", "test")
BENCHMARKS = ("cross_demographic", "cross_country", "cross_value")
DATASETS = (*CORPUS_SPLITS, *BENCHMARKS)
ROBUSTNESS_DATASETS = ("income_flip", "option_order", "repeat")  # perturbed cross-demographic copies (Figure 8)
SAMPLE_COLUMNS = ["sample_id", "profile_id", "q_id", "country"]  # then attributes, then QUESTION_COLUMNS
QUESTION_COLUMNS = ["question", "options", "answer", "answer_index", "frequency", "category",
                    "n_respondents", "entropy"]


def shuffled(ids: Sequence[str], seed: int, country_code: int) -> list[str]:
    """A permutation of the sorted ids that depends only on the seed and the country."""
    ordered = sorted(ids)
    rng = np.random.default_rng([seed, country_code])
    return [ordered[i] for i in rng.permutation(len(ordered))]


def split_sizes(n: int, ratios: Mapping[str, float]) -> dict[str, int]:
    """Train/dev/test sizes summing to n; dev and test are rounded, train takes the rest."""
    dev, test = round(n * ratios["dev"]), round(n * ratios["test"])
    return {"train": n - dev - test, "dev": dev, "test": test}


def scaled_requests(available: int, requested: Mapping[str, int]) -> dict[str, int]:
    """Shrink requested pool sizes in proportion when fewer profiles are available."""
    total = sum(requested.values())
    if total <= available:
        return dict(requested)
    return {k: int(np.floor(v * available / total)) for k, v in requested.items()}


def country_pools(archetypes: pd.DataFrame, country: Mapping, questions: Sequence[Mapping],
                  splits_spec: Mapping) -> tuple[pd.DataFrame, list[dict]]:
    """Assign one country's sampled profiles to datasets, each profile to at most one (profile-disjoint
    by construction). Depends on this country's archetypes alone, so adding or removing another
    country leaves its assignment as it is.

    Returns (profile_id, dataset) rows and the pools where fewer profiles were available than asked.
    """
    kept = archetypes[archetypes["kept"] & (archetypes["country"] == country["iso3"])]
    train_q = {q["id"] for q in questions if q["role"] == "train"}
    value_q = {q["id"] for q in questions if q["role"] == "cross_value"}
    seed, iso3 = splits_spec["seed"], country["iso3"]
    eligible = shuffled(kept.loc[kept["q_id"].isin(train_q), "profile_id"].unique(), seed, country["iso_numeric"])
    rows: list[tuple[str, str]] = []
    if country["role"] == "cross_country":
        want = {"cross_country": splits_spec["cross_country"]["profiles_per_country"]}
        got = scaled_requests(len(eligible), want)
        rows += [(p, "cross_country") for p in eligible[:got["cross_country"]]]
    else:
        want = {"corpus": splits_spec["corpus"]["profiles_per_country"],
                "cross_demographic": splits_spec["cross_demographic"]["profiles_per_country"]}
        got = scaled_requests(len(eligible), want)
        cross_demo, corpus = eligible[:got["cross_demographic"]], eligible[got["cross_demographic"]:][:got["corpus"]]
        rows += [(p, "cross_demographic") for p in cross_demo]
        sizes = split_sizes(len(corpus), splits_spec["corpus"]["ratios"])
        start = 0
        for split in CORPUS_SPLITS:
            rows += [(p, split) for p in corpus[start:start + sizes[split]]]
            start += sizes[split]
        # cross_value draws from the profiles left over, so it never shares a profile with the rest
        used = set(cross_demo) | set(corpus)
        with_value_q = kept.loc[kept["q_id"].isin(value_q), "profile_id"].unique()
        remaining = [p for p in shuffled(with_value_q, seed + 1, country["iso_numeric"]) if p not in used]
        want["cross_value"] = splits_spec["cross_value"]["profiles_per_country"]
        got["cross_value"] = min(want["cross_value"], len(remaining))
        rows += [(p, "cross_value") for p in remaining[:got["cross_value"]]]
        empty = [split for split in CORPUS_SPLITS if splits_spec["corpus"]["ratios"][split] == 0]
        if empty:
            raise DVMapError(f"the splits spec's corpus ratio of {', '.join(empty)} is 0 "
                             f"({dict(splits_spec['corpus']['ratios'])}): the split would be empty (training "
                             f"selects its checkpoint on dev, and an empty split is no split)")
    asked_none = [pool for pool, n in want.items() if n == 0]
    if asked_none:
        raise DVMapError(f"{iso3}: the splits spec asks 0 profiles per country for {', '.join(asked_none)} "
                         f"(profiles_per_country: 0): the dataset would be empty")
    if not eligible:
        raise DVMapError(f"{iso3}: the country is left with 0 profiles: none of its "
                         f"{archetypes.loc[archetypes['country'] == iso3, 'profile_id'].nunique()} profiles has a "
                         f"kept training question (the filter spec's min_profile_size and max_entropy decide which "
                         f"(profile, question) rows are kept; {int(archetypes['kept'].sum())} of {len(archetypes)} "
                         f"rows are)")
    shortfalls = [{"country": iso3, "pool": pool, "requested": n, "assigned": got[pool]}
                  for pool, n in want.items() if got[pool] < n]
    return pd.DataFrame(rows, columns=["profile_id", "dataset"]), shortfalls


def assign_pools(archetypes: pd.DataFrame, countries: Sequence[Mapping], questions: Sequence[Mapping],
                 splits_spec: Mapping) -> tuple[pd.DataFrame, list[dict]]:
    """country_pools over all countries."""
    pools, shortfalls = [], []
    for c in countries:
        frame, short = country_pools(archetypes, c, questions, splits_spec)
        pools.append(frame)
        shortfalls += short
    return pd.concat(pools, ignore_index=True), shortfalls


def check_not_empty(datasets: Mapping[str, pd.DataFrame], pools: pd.DataFrame, archetypes: pd.DataFrame) -> None:
    """A dataset with 0 samples is an error naming the profiles drawn for it per country and why none
    gave a sample (an empty benchmark would make a table of 0 samples)."""
    for name, frame in datasets.items():
        if len(frame):
            continue
        drawn = pools[pools["dataset"] == name]
        country_of = archetypes.drop_duplicates("profile_id").set_index("profile_id")["country"]
        per_country = drawn["profile_id"].map(country_of).value_counts().sort_index().to_dict()
        raise DVMapError(f"{name}: 0 samples: {len(drawn)} profiles were drawn for it"
                         f"{f' ({per_country})' if per_country else ''}, and none has a kept question of the "
                         f"dataset's role (see results/data/countries/*/sampling.json and the filter spec)")


def with_frequency(samples: pd.DataFrame) -> pd.Series:
    """Share of each sample's answer among the dataset's samples of the same (country, question)."""
    group = samples.groupby(["country", "q_id"])["answer"].transform("size")
    same = samples.groupby(["country", "q_id", "answer"])["answer"].transform("size")
    return (same / group).astype(float)


def build_datasets(archetypes: pd.DataFrame, profiles: pd.DataFrame, countries: Sequence[Mapping],
                   questions: Sequence[Mapping], attribute_names: Sequence[str],
                   splits_spec: Mapping, pools: pd.DataFrame | None = None,
                   names: Sequence[str] | None = None) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The datasets, one row per kept (profile, question) sample, in a stable order (countries in the
    order given, then profile, then question). `pools` (profile_id, dataset) fixes which profile goes
    where instead of sampling them; `names` picks the datasets to build (default: all of `pools`, or
    all six)."""
    shortfalls: list[dict] = []
    given_pools = pools is not None
    if pools is None:
        pools, shortfalls = assign_pools(archetypes, countries, questions, splits_spec)
    role_of_q = {q["id"]: q["role"] for q in questions}
    q_info = pd.DataFrame([{"q_id": q["id"], "question": q["text"], "options": list(q["options"]),
                            "category": q["category"], "_q": i} for i, q in enumerate(questions)])
    country_order = {c["iso3"]: i for i, c in enumerate(countries)}
    kept = archetypes.loc[archetypes["kept"], ["profile_id", "q_id", "answer", "answer_index",
                                               "n_respondents", "entropy"]]
    samples = (kept.merge(pools, on="profile_id")
               .merge(profiles[["profile_id", "country", *attribute_names]], on="profile_id")
               .merge(q_info, on="q_id"))
    wanted_role = np.where(samples["dataset"] == "cross_value", "cross_value", "train")
    samples = samples[samples["q_id"].map(role_of_q).to_numpy() == wanted_role]
    datasets = {}
    for name in names or (dict.fromkeys(pools["dataset"]) if given_pools else DATASETS):
        d = samples[samples["dataset"] == name].copy()
        d["_c"] = d["country"].map(country_order)
        d = d.sort_values(["_c", "profile_id", "_q"]).reset_index(drop=True)
        d["sample_id"] = d["profile_id"] + "-" + d["q_id"]
        d["frequency"] = with_frequency(d)
        d["answer_index"] = d["answer_index"].astype("int64")
        d["n_respondents"] = d["n_respondents"].astype("int64")
        datasets[name] = d[[*SAMPLE_COLUMNS, *attribute_names, *QUESTION_COLUMNS]]
    return datasets, shortfalls


def relabel_corpus(corpus: Mapping[str, pd.DataFrame], archetypes: pd.DataFrame, profiles: pd.DataFrame,
                   countries: Sequence[Mapping], questions: Sequence[Mapping],
                   attribute_names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """A filter variant's corpus: the main corpus's profiles in the same splits, with the samples
    and labels the variant's archetype filter keeps. Only the filtering differs, and no profile of
    a benchmark can enter it."""
    pools = pd.concat([pd.DataFrame({"profile_id": frame["profile_id"].unique(), "dataset": name})
                       for name, frame in corpus.items()], ignore_index=True)
    datasets, _ = build_datasets(archetypes, profiles, countries, questions, attribute_names, {}, pools)
    for name, frame in corpus.items():
        extra = set(datasets[name]["profile_id"]) - set(frame["profile_id"])
        if extra:  # cannot happen by construction; a leak would be a build failure
            raise ValueError(f"variant corpus {name}: {len(extra)} profiles outside the main corpus's {name}")
    return datasets

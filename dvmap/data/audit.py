"""Audits of the built corpus: leakage between splits (a build failure), entropy filtering and
demographic coverage, and counts."""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.errors import LeakageError
from dvmap.stats import count_draw_interval

ENTROPY_BIN_EDGES = [0.0, 1e-12, 0.5, 1.0, 1.5, 2.0, 2.5, np.inf]


def leakage_report(datasets: Mapping[str, pd.DataFrame], countries: Sequence[Mapping],
                   questions: Sequence[Mapping]) -> dict:
    """Counts that must all be zero: shared profiles between any two datasets, training countries in
    cross_country, training questions in cross_value, unseen countries or questions in the corpus."""
    train_countries = {c["iso3"] for c in countries if c["role"] == "train"}
    train_questions = {q["id"] for q in questions if q["role"] == "train"}
    profiles = {name: set(d["profile_id"]) for name, d in datasets.items()}
    overlap = {f"{a}__{b}": len(profiles[a] & profiles[b]) for a, b in itertools.combinations(sorted(profiles), 2)}
    checks = {"profile_overlap": overlap}
    violations = {k: v for k, v in overlap.items() if v}
    rules = {
        "training_countries_in_cross_country": ("cross_country", lambda d: d["country"].isin(train_countries)),
        "training_questions_in_cross_value": ("cross_value", lambda d: d["q_id"].isin(train_questions)),
    }
    for split in ("train", "dev", "test", "cross_demographic"):
        rules[f"unseen_countries_in_{split}"] = (split, lambda d: ~d["country"].isin(train_countries))
        rules[f"unseen_questions_in_{split}"] = (split, lambda d: ~d["q_id"].isin(train_questions))
    for name, (dataset, bad) in rules.items():
        n = int(bad(datasets[dataset]).sum()) if dataset in datasets else 0
        checks[name] = n
        if n:
            violations[name] = n
    checks["ok"] = not violations
    checks["violations"] = violations
    return checks


def assert_no_leakage(report: Mapping) -> None:
    if not report["ok"]:
        raise LeakageError(f"leakage between splits: {report['violations']}")


def identical_answers_report(respondents: pd.DataFrame, questions: Sequence[Mapping], min_shared: int = 20) -> dict:
    """Per (cross-value question, training question): respondents who answered both and the share
    giving the same answer. A pair is identical when all of at least `min_shared` such respondents
    agree, by option label or by option position (the same codes under other names): one WVS
    variable read twice, or a file column copied into another, so the cross-value benchmark would
    test answers the model was trained on. Needs respondents: the datasets are profile-disjoint,
    so they share no respondent or profile to compare on."""
    options = {q["id"]: list(q["options"]) for q in questions}
    train = [q["id"] for q in questions if q["role"] == "train"]
    cross = [q["id"] for q in questions if q["role"] == "cross_value"]
    position = {qid: respondents[qid].map({o: i for i, o in enumerate(options[qid])}).to_numpy(dtype=float)
                for qid in [*train, *cross]}
    pairs, identical = {}, []
    for c in cross:
        for t in train:
            both = ~np.isnan(position[c]) & ~np.isnan(position[t])
            n = int(both.sum())
            same_label = respondents[c].to_numpy()[both] == respondents[t].to_numpy()[both]
            same_position = position[c][both] == position[t][both]
            pairs[f"{c}__{t}"] = {"shared": n, "same_label": round(float(same_label.mean()), 6) if n else 0.0}
            if n >= min_shared and (same_label.all() or same_position.all()):
                identical.append({"cross_value": c, "train": t, "shared": n})
    return {"min_shared": min_shared, "pairs": pairs, "identical": identical, "ok": not identical}


def assert_no_identical_answers(report: Mapping) -> None:
    if not report["ok"]:
        named = "; ".join(f"cross-value question {p['cross_value']} and training question {p['train']} "
                          f"({p['shared']} respondents answered both)" for p in report["identical"])
        raise LeakageError(f"identical answers (a WVS variable read twice?): {named}")


def _shares(respondents: pd.DataFrame, archetypes: pd.DataFrame) -> dict:
    """The share of respondents sharing their profile and the share of answers the filter removes."""
    sizes = respondents.groupby("profile_id").size()
    kept = archetypes["kept"].to_numpy()
    n_answers = int(archetypes["n_respondents"].sum())
    kept_answers = int(archetypes.loc[kept, "n_respondents"].sum())
    return {"respondents": int(len(respondents)),
            "respondents_sharing_a_profile": round(float((respondents["profile_id"].map(sizes) > 1).mean()), 6),
            "answers": n_answers, "answers_in_kept_pairs": kept_answers,
            "answers_removed_share": round(1 - kept_answers / n_answers, 6)}


# the filter's settings as filtering.json reports them: in this order whatever order the spec writes
FILTER_KEYS = ("max_entropy", "min_profile_size", "use_weight", "rule")


def filtering_report(respondents: pd.DataFrame, archetypes: pd.DataFrame, attribute_names: Sequence[str],
                     filter_spec: Mapping, corpus_countries: Sequence[str] | None = None,
                     corpus_questions: Sequence[str] | None = None) -> dict:
    """Entropy distribution and demographic coverage before vs after the archetype filter. With the
    corpus's countries (iso3) and questions, `corpus` repeats the shares over those only: the paper
    states them of the corpus's samples (its 10 countries and 16 questions), not of the whole file."""
    shares = _shares(respondents, archetypes)  # the same shares as `corpus`, over the whole file
    h = archetypes["entropy"].to_numpy()
    counts, _ = np.histogram(h, bins=ENTROPY_BIN_EDGES)
    kept = archetypes["kept"].to_numpy()
    # Coverage: pairs per profile before/after, summed per attribute label over the profile table.
    profile_index = pd.Index(archetypes["profile_id"].unique())
    codes = profile_index.get_indexer(archetypes["profile_id"])
    per_profile = pd.DataFrame({"before": np.bincount(codes, minlength=len(profile_index)),
                                "after": np.bincount(codes[kept], minlength=len(profile_index))},
                               index=profile_index)
    profiles = respondents.drop_duplicates("profile_id").set_index("profile_id").reindex(profile_index)
    coverage = {}
    for attr in attribute_names:
        sums = per_profile.groupby(profiles[attr].to_numpy()).sum()
        coverage[attr] = {label: {"pairs_before": int(row.before), "pairs_after": int(row.after),
                                  "retained": round(float(row.after / row.before), 6)}
                          for label, row in sums.iterrows()}
    labels = [f"[{lo:g},{hi:g})" if lo > 0 else ("0" if hi < 1e-6 else f"(0,{hi:g})")
              for lo, hi in zip(ENTROPY_BIN_EDGES[:-1], ENTROPY_BIN_EDGES[1:])]
    return {
        "filter": {key: filter_spec[key] for key in FILTER_KEYS},
        "respondents": shares["respondents"],
        "profiles": int(respondents["profile_id"].nunique()),
        "respondents_sharing_a_profile": shares["respondents_sharing_a_profile"],
        "pairs": int(len(archetypes)),
        "pairs_kept": int(kept.sum()),
        "pairs_removed_share": round(float(1 - kept.mean()), 6),
        "answers": shares["answers"],
        "answers_in_kept_pairs": shares["answers_in_kept_pairs"],
        "answers_removed_share": shares["answers_removed_share"],
        "entropy_histogram": dict(zip(labels, counts.astype(int).tolist())),
        "entropy_mean_shared_profiles": round(float(h[archetypes["n_respondents"].to_numpy() > 1].mean()), 6)
        if (archetypes["n_respondents"] > 1).any() else 0.0,
        "profiles_with_any_kept_pair": {
            "before": int(archetypes["profile_id"].nunique()),
            "after": int(archetypes.loc[kept, "profile_id"].nunique())},
        "coverage": coverage,
        **({"corpus": _corpus_shares(respondents, archetypes, corpus_countries, corpus_questions)}
           if corpus_countries is not None and corpus_questions is not None else {}),
    }


def _corpus_shares(respondents: pd.DataFrame, archetypes: pd.DataFrame, countries: Sequence[str],
                   questions: Sequence[str]) -> dict:
    mine = respondents[respondents["country"].isin(list(countries))]
    pairs = archetypes[archetypes["country"].isin(list(countries)) & archetypes["q_id"].isin(list(questions))]
    return {"countries": sorted(countries), "questions": list(questions), **_shares(mine, pairs)}


def missing_attributes_report(records: Sequence[Mapping]) -> dict:
    """Countries' missing_attribute_counts records (wvs_io) and their totals: respondents read,
    dropped and kept, and per attribute its treatment and the respondents with a missing code."""
    per_attribute: dict = {}
    for r in records:
        for name, a in r["per_attribute"].items():
            total = per_attribute.setdefault(name, {"missing": a["missing"], "respondents": 0})
            total["respondents"] += a["respondents"]
    return {"respondents": sum(r["respondents"] for r in records), "dropped": sum(r["dropped"] for r in records),
            "kept": sum(r["kept"] for r in records), "per_attribute": per_attribute,
            "per_country": {r["country"]: {k: r[k] for k in ("respondents", "dropped", "kept", "per_attribute")}
                            for r in records}}


def counts_report(datasets: Mapping[str, pd.DataFrame], shortfalls: Sequence[Mapping],
                  missing: Sequence[Mapping] = ()) -> dict:
    """Samples and profiles per dataset, per country and per question; sampling shortfalls; with
    `missing` (per country: wvs_io.missing_attribute_counts' record), the respondents each
    attribute's missing codes drop or label."""
    out: dict = {"datasets": {}, "sampling_shortfalls": list(shortfalls)}
    if missing:
        out["missing_attribute_codes"] = missing_attributes_report(missing)
    squared_halves = {}  # per dataset: (z x the count's SD)^2, which add over independent draws
    for name, d in datasets.items():
        # the count's spread over redraws of the same number of profiles (stats.count_draw_interval)
        low, high = count_draw_interval(d.groupby("profile_id", sort=False).size().to_numpy())
        squared_halves[name] = ((high - low) / 2) ** 2
        out["datasets"][name] = {
            "samples": int(len(d)),
            "samples_draw_low": round(low, 1),
            "samples_draw_high": round(high, 1),
            "profiles": int(d["profile_id"].nunique()),
            "countries": int(d["country"].nunique()),
            "questions": int(d["q_id"].nunique()),
            "per_country": {k: int(v) for k, v in d.groupby("country", sort=False).size().items()},
            "per_question": {k: int(v) for k, v in d.groupby("q_id", sort=False).size().items()},
        }
    for total, parts in (("benchmark_samples", ("cross_demographic", "cross_country", "cross_value")),
                         ("corpus_samples", ("train", "dev", "test"))):
        present = [p for p in parts if p in out["datasets"]]
        value = sum(out["datasets"][p]["samples"] for p in present)
        half = float(np.sqrt(sum(squared_halves[p] for p in present)))  # independent draws: variances add
        out[total] = value
        out[f"{total}_draw_low"], out[f"{total}_draw_high"] = round(value - half, 1), round(value + half, 1)
    return out


def release_prompts_report(released: Mapping[str, pd.DataFrame], rendered: Mapping[str, pd.DataFrame]) -> dict:
    """The kit's structured CoT prompts against the release's own `prompt` column, row by row (the
    kit's datasets keep the release's row order): per split the prompts the release gives (a non-empty
    `prompt`), how many the kit renders byte for byte, and the first that differs; then the totals
    and `share_identical` (left out when the release gives no prompt: nothing to compare)."""
    out: dict = {"datasets": {}}
    given_total = identical_total = 0
    for name, release in released.items():
        ours = rendered[name]["prompt"].astype(str).to_numpy()
        theirs = release["prompt"].fillna("").astype(str).to_numpy() if "prompt" in release else np.array([""] * len(release))
        if len(ours) != len(theirs):
            raise ValueError(f"{name}: the release has {len(theirs)} rows, the kit's prompts {len(ours)}")
        given = theirs != ""
        same = given & (ours == theirs)
        differing = np.flatnonzero(given & ~same)
        out["datasets"][name] = {"samples": int(len(theirs)), "prompts_given": int(given.sum()),
                                 "identical": int(same.sum()),
                                 "first_difference_row": int(differing[0]) if len(differing) else None}
        given_total += int(given.sum())
        identical_total += int(same.sum())
    out.update({"prompts_given": given_total, "identical": identical_total})
    if given_total:
        out["share_identical"] = round(identical_total / given_total, 6)
    return out

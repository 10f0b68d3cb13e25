"""Accuracy gains per group against a distance: Figure 9 (per country, the distance on the cultural
map to the training countries) and Table 12 (per cross-value question, the semantic distance to the
training questions). A gain is DVMap minus its base (the models spec's comparisons), or a reference
predictor minus uniform, its own gain over chance, shown beside the models'."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from dvmap.analyses.model_stats import group_gains
from dvmap.contracts import written_columns
from dvmap.evaluate.metrics import parse_predictions

# per kind of group: the distances of its places table (column distance_<name>), in output order
DISTANCES = {"country": ("nearest", "mean"), "q_id": ("average", "nearest")}
# per kind of group: the columns of its places table the gain table carries (map position, nearest training group)
PLACE_COLUMNS = {"country": ("x", "y", "nearest_training_country"), "q_id": ("nearest_training_question",)}
CORRELATION_COLUMNS = ["model_a", "model_b", "kind", "distance", "n_points", "n_samples", "r", "r_ci_low", "r_ci_high",
                       "r_seed_sd", "n_seeds", "p_value", "note"]


def gain_columns(by: str) -> list[str]:
    """The gain table's columns (results/analysis/fig9_country_gain.csv, table12_question_gain.csv)."""
    return ["model_a", "model_b", "kind", by, "n", *(f"distance_{d}" for d in DISTANCES[by]), "acc_a", "acc_b",
            "gain", "gain_ci_low", "gain_ci_high", "gain_seed_sd", "n_seeds", *PLACE_COLUMNS[by]]


def gain_comparisons(rows: Mapping[str, tuple[str, Sequence[str]]],
                     comparisons: Sequence[Sequence[str]]) -> list[tuple[str, str, str]]:
    """(a, b, kind) for each DVMap/base pair of the rows, then each reference predictor against uniform."""
    pairs = [(a, b, "language model") for a, b in comparisons if a in rows and b in rows]
    if "uniform" in rows:  # the reference predictors' own gain over chance, next to the models'
        pairs += [(r, "uniform", kind) for r, (kind, _) in rows.items() if kind == "reference predictor" and r != "uniform"]
    return pairs


def distances_of(places: pd.DataFrame, by: str) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The places table with its key as `group`, and distance name -> {group: distance}."""
    return (places.rename(columns={by: "group"}),
            {name: dict(zip(places[by], places[f"distance_{name}"])) for name in DISTANCES[by]})


def gain_note(model: str, kind: str, r: float, by: str) -> str:
    parts = []
    if kind == "reference predictor" and by == "q_id":
        parts.append("on unseen questions every reference predictor falls back to uniform: its gain over uniform "
                     "is 0 or sampling noise")
    if kind == "reference predictor" and by == "country" and model == "country_majority":
        parts.append("in unseen countries country_majority falls back to the question majority")
    if pd.isna(r):
        parts.append("r undefined: the gain does not vary")
    return "; ".join(parts)


def gain_tables(samples: pd.DataFrame, rows: Mapping[str, tuple[str, Sequence[str]]],
                comparisons: Sequence[Sequence[str]], by: str, places: pd.DataFrame, resamples: int, seed: int,
                log=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per comparison, the gain per group (`by`: country or q_id) with its CI and the group's place
    (distances, nearest training group, map position), and Pearson r of gain and each distance.
    `rows`: row name -> (kind, its prediction files, one per seed)."""
    info, distances = distances_of(places, by)
    groups = samples[by].to_numpy()
    correct: dict[str, list] = {}
    gain_frames, corr_frames = [], []
    for a, b, kind in gain_comparisons(rows, comparisons):
        for name in (a, b):
            if name not in correct:
                correct[name] = [parse_predictions(pd.read_parquet(f), samples)["correct"].to_numpy()
                                 for f in rows[name][1]]
        gains, corr = group_gains(correct[a], correct[b], groups, distances, resamples, seed)
        for frame in (gains, corr):
            frame.insert(0, "kind", kind)
            frame.insert(0, "model_b", b)
            frame.insert(0, "model_a", a)
        gains = gains.merge(info[["group", *PLACE_COLUMNS[by]]], on="group", how="left")
        if by == "country":  # nearest to farthest from the training countries
            gains = gains.sort_values(["distance_nearest", "group"], kind="stable")
        gain_frames.append(gains)
        corr["note"] = [gain_note(a, kind, r, by) for r in corr["r"]]
        corr_frames.append(corr)
        for _, c in corr.iterrows():
            if log is not None:
                log.info("%s - %s: r(gain, %s distance) = %.3f [%.3f, %.3f], %d points", a, b, c["distance"], c["r"],
                         c["r_ci_low"], c["r_ci_high"], c["n_points"])
    gain_table = pd.concat(gain_frames, ignore_index=True).rename(columns={"group": by}) if gain_frames else pd.DataFrame()
    corr_table = pd.concat(corr_frames, ignore_index=True) if corr_frames else pd.DataFrame()
    return (written_columns(gain_table, gain_columns(by), "the gain table"),
            written_columns(corr_table, CORRELATION_COLUMNS, "the gain-distance correlations"))

"""Robustness datasets built from a benchmark, and the share of answers that change under them.

Three datasets, each with one row per sample and the columns of a benchmark (so the prompt,
generation, reference-prediction and scoring rules take them as they are), plus
`original_sample_id` (the benchmark sample it was made from) and `perturbation`:

  income_flip   the samples whose profile has one label of a configured pair (the paper: Income
                Bracket High <-> Low), with that label swapped and the 10 other attributes kept.
                sample_id `<original>~flip`; `profile_id` is the flipped profile's id. The question
                columns (answer, frequency, n_respondents, entropy) are the original sample's: the
                flipped profile has no survey answer of its own, so accuracy on this dataset means
                agreement with the unflipped profile's label, not a score.
  option_order  samples (by default the income-flip originals, or all) whose options are presented in
                a seeded random order (never the original one): `options` (and with it
                answer_index, the metrics and the parsing) stays in the question's order, the
                column `presented_options` holds the order the prompt shows. sample_id `<original>~perm`.
  repeat        the samples of the two checks again, unchanged, under new ids (`<original>~repeat`):
                the control. Sampled generation (temperature > 0, a seed per sample id) changes
                answers by chance alone; this measures that floor.

Change rate of a pair = 1 when the parsed answers of the original and the perturbed member differ;
pairs where either member failed to parse are left out (their count is reported).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.data.archetypes import profile_ids
from dvmap.data.splits import ROBUSTNESS_DATASETS
from dvmap.errors import SpecError
from dvmap.stats import count_draw_interval

SUFFIX = {"income_flip": "~flip", "option_order": "~perm", "repeat": "~repeat"}


def attribute_labels(attribute: Mapping) -> list[str]:
    """Every label an attribute spec can give (from `labels` or `bins`)."""
    if "labels" in attribute:
        return list(dict.fromkeys(attribute["labels"].values()))
    return [b["label"] for b in attribute["bins"]]


def check_model_analyses_against(spec: Mapping, attributes_spec: Mapping, file) -> None:
    """The income-flip attribute and its labels exist in the attributes spec; no label is in two pairs."""
    flip = spec["income_flip"]
    by_name = {a["name"]: a for a in attributes_spec["attributes"]}
    if flip["attribute"] not in by_name:
        raise SpecError(file, "income_flip/attribute", f"unknown attribute '{flip['attribute']}' "
                                                       f"(have {', '.join(by_name)})")
    if by_name[flip["attribute"]].get("from_countries"):
        raise SpecError(file, "income_flip/attribute", "the country attribute cannot be flipped (its label is "
                                                       "tied to the country column)")
    known = attribute_labels(by_name[flip["attribute"]])
    seen: set[str] = set()
    for i, pair in enumerate(flip["pairs"]):
        for j, label in enumerate(pair):
            if label not in known:
                raise SpecError(file, f"income_flip/pairs/{i}/{j}", f"'{label}' is not a label of "
                                                                    f"'{flip['attribute']}' (have {known})")
            if label in seen:
                raise SpecError(file, f"income_flip/pairs/{i}/{j}", f"label '{label}' is in two pairs (or twice)")
            seen.add(label)


def flip_map(pairs: Sequence[Sequence[str]]) -> dict[str, str]:
    """label -> its partner, both ways."""
    out: dict[str, str] = {}
    for a, b in pairs:
        out[a], out[b] = b, a
    return out


def _derived(samples: pd.DataFrame, perturbation: str) -> pd.DataFrame:
    out = samples.copy()
    out["original_sample_id"] = samples["sample_id"].to_numpy()
    out["sample_id"] = samples["sample_id"].astype(str) + SUFFIX[perturbation]
    out["perturbation"] = perturbation
    return out.reset_index(drop=True)


def income_flip_dataset(samples: pd.DataFrame, attribute: str, pairs: Sequence[Sequence[str]],
                        attribute_names: Sequence[str]) -> pd.DataFrame:
    """The flipped member of every sample whose `attribute` label is in a pair (see the module doc)."""
    partner = flip_map(pairs)
    chosen = samples[samples[attribute].isin(list(partner))]
    out = _derived(chosen, "income_flip")
    out[attribute] = out[attribute].map(partner)
    out["profile_id"] = profile_ids(out, attribute_names).to_numpy()
    return out


def pair_count_interval(samples: pd.DataFrame, dataset: pd.DataFrame) -> tuple[float, float]:
    """The 95% interval of the number of pairs over redraws of the benchmark's profiles: each profile
    of `samples` contributes its samples that `dataset` derives a pair from (0 for most)."""
    paired = samples["sample_id"].isin(set(dataset["original_sample_id"]))
    return count_draw_interval(paired.groupby(samples["profile_id"], sort=False).sum().to_numpy())


def selected_for_option_order(samples: pd.DataFrame, spec: Mapping, attribute_names: Sequence[str]) -> pd.DataFrame:
    """The samples of the option-order check (option_order spec: `samples`, `max_samples`, `seed`) in the
    benchmark's order: every sample or the income-flip originals, or a seeded subsample of those."""
    order = spec["option_order"]
    if order["samples"] == "income_pairs":
        flip = spec["income_flip"]
        samples = samples[samples[flip["attribute"]].isin(list(flip_map(flip["pairs"])))]
    max_samples, seed = order["max_samples"], order["seed"]
    if max_samples is None or max_samples >= len(samples):
        return samples
    keep = np.sort(np.random.default_rng(seed).choice(len(samples), size=max_samples, replace=False))
    return samples.iloc[keep]


def permutation_for(sample_id: str, n: int, seed: int) -> list[int]:
    """A seeded permutation of range(n) for one sample, not the identity when n > 1 (stable per id)."""
    import zlib

    rng = np.random.default_rng([seed, zlib.crc32(sample_id.encode("utf-8"))])
    while True:
        perm = rng.permutation(n).tolist()
        if n < 2 or perm != list(range(n)):
            return perm


def option_order_dataset(chosen: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The samples with `presented_options`, a seeded non-identity permutation of `options` per sample."""
    out = _derived(chosen, "option_order")
    presented = []
    for sid, options in zip(chosen["sample_id"], chosen["options"]):
        options = list(options)
        presented.append([options[i] for i in permutation_for(str(sid), len(options), seed)])
    out["presented_options"] = presented
    return out


def repeat_dataset(samples: pd.DataFrame, original_ids: Sequence[str]) -> pd.DataFrame:
    """The given samples unchanged under new ids (the control), in the benchmark's order."""
    wanted = set(original_ids)
    return _derived(samples[samples["sample_id"].isin(wanted)], "repeat")


def robustness_dataset(name: str, samples: pd.DataFrame, spec: Mapping, attribute_names: Sequence[str]) -> pd.DataFrame:
    """One robustness dataset from the benchmark samples and specs/model_analyses.yaml."""
    flip, order = spec["income_flip"], spec["option_order"]
    if name == "income_flip":
        return income_flip_dataset(samples, flip["attribute"], flip["pairs"], attribute_names)
    if name == "option_order":
        return option_order_dataset(selected_for_option_order(samples, spec, attribute_names), order["seed"])
    if name == "repeat":
        flipped = income_flip_dataset(samples, flip["attribute"], flip["pairs"], attribute_names)
        ids = list(flipped["original_sample_id"])
        ids += list(selected_for_option_order(samples, spec, attribute_names)["sample_id"])
        return repeat_dataset(samples, ids)
    raise ValueError(f"unknown robustness dataset {name!r} (use one of {', '.join(ROBUSTNESS_DATASETS)})")


def check_robustness_dataset(frame: pd.DataFrame, samples: pd.DataFrame, attribute_names: Sequence[str],
                             changed: Sequence[str] = ()) -> None:
    """Contract: benchmark columns, unique ids, options as in the original, only `changed` attributes differ."""
    missing = [c for c in samples.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"robustness dataset lacks benchmark columns {missing}")
    if frame["sample_id"].duplicated().any():
        example = frame.loc[frame["sample_id"].duplicated(), "sample_id"].iloc[0]
        raise ValueError(f"duplicate sample ids, e.g. {example}")
    original = samples.set_index("sample_id").loc[frame["original_sample_id"]]
    if [list(o) for o in original["options"]] != [list(o) for o in frame["options"]]:
        raise ValueError("options differ from the original samples")
    for a in attribute_names:
        differ = original[a].to_numpy() != frame[a].to_numpy()
        if a in changed and not differ.all():
            raise ValueError(f"attribute {a} is unchanged in {int((~differ).sum())} samples")
        if a not in changed and differ.any():
            raise ValueError(f"attribute {a} changed in {int(differ.sum())} samples")


def pair_predictions(original: pd.DataFrame, perturbed: pd.DataFrame, dataset: pd.DataFrame) -> pd.DataFrame:
    """Parsed originals and perturbed members side by side: original_sample_id, q_id, category, pred_index of
    each (-1: no parseable answer). `original` and `perturbed` are outputs of metrics.parse_predictions."""
    left = original[["sample_id", "pred_index"]].rename(columns={"sample_id": "original_sample_id",
                                                                  "pred_index": "pred_original"})
    right = perturbed[["sample_id", "pred_index"]].merge(
        dataset[["sample_id", "original_sample_id", "q_id", "category"]], on="sample_id", validate="one_to_one")
    right = right.rename(columns={"pred_index": "pred_perturbed"})
    pairs = right.merge(left, on="original_sample_id", how="left", validate="one_to_one")
    if pairs["pred_original"].isna().any():
        raise ValueError(f"{int(pairs['pred_original'].isna().sum())} perturbed samples have no original prediction")
    pairs["pred_original"] = pairs["pred_original"].astype(int)
    return pairs[["original_sample_id", "q_id", "category", "pred_original", "pred_perturbed"]]


def changed(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(changed, both_parsed) per pair: the parsed answer differs; both members have a parsed answer."""
    a, b = pairs["pred_original"].to_numpy(), pairs["pred_perturbed"].to_numpy()
    both = (a >= 0) & (b >= 0)
    return (a != b) & both, both


def change_rate(pairs: pd.DataFrame) -> float:
    """Share of pairs (both members parsed) whose answer changes; NaN without such pairs."""
    flips, both = changed(pairs)
    return float(flips[both].mean()) if both.any() else float("nan")


def reference_note(predictor: str, perturbation: str) -> str:
    """Why a reference predictor's change rate is what it is (dvmap.evaluate.baselines), for the CSV."""
    if predictor == "uniform":
        return "a fresh seeded random option per sample: the chance level, 1 - 1/K"
    if perturbation == "repeat":
        return "0 by construction: deterministic given the profile and question"
    if perturbation == "option_order":
        return "0 by construction: predicts from the question's option order, which the presentation does not change"
    if predictor in ("majority", "country_majority"):
        return "0 by construction: predicts from the question (and country) only, never the income"
    return ""

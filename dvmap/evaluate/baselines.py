"""Reference predictors, fitted on the train split only, writing predictions in the same format
as language models (`<answer>option</answer>` responses and a distribution over options):

  uniform                 a seeded random option; option_probs uniform
  majority                the question's most frequent training answer
  country_majority        the (country, question) majority: the "national label" baseline
  demographic_classifier  a multinomial logistic regression per question on the 11 attributes

Back-off where the training split has no data: an unseen country (cross_country) falls back from
the country majority to the question majority; an unseen question (cross_value) has no training
answers at all, so every predictor falls back to uniform there. The `source` column says which.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REFERENCE_PREDICTORS = ("uniform", "majority", "country_majority", "demographic_classifier")


def _prediction_rows(samples: pd.DataFrame, probs: Sequence[np.ndarray], chosen: Sequence[int],
                     source: Sequence[str]) -> pd.DataFrame:
    options = [list(o) for o in samples["options"]]
    return pd.DataFrame({
        "sample_id": samples["sample_id"].to_numpy(),
        "response": [f"<answer>{o[i]}</answer>" for o, i in zip(options, chosen)],
        "parsed": [o[i] for o, i in zip(options, chosen)],
        "status": "ok",
        "option_probs": [list(map(float, p)) for p in probs],
        "source": list(source),
    })


def _counts(train: pd.DataFrame, keys: list[str]) -> dict:
    """keys -> answer counts over the question's options."""
    out = {}
    for key, g in train.groupby(keys, sort=False):
        k = len(g["options"].iloc[0])
        out[key if isinstance(key, tuple) else (key,)] = np.bincount(g["answer_index"], minlength=k).astype(float)
    return out


def majority_predictions(train: pd.DataFrame, samples: pd.DataFrame, by_country: bool, seed: int) -> pd.DataFrame:
    """Majority answer (ties to the first option) with the training shares as the distribution."""
    per_q = _counts(train, ["q_id"])
    per_cq = _counts(train, ["country", "q_id"]) if by_country else {}
    rng = np.random.default_rng(seed)
    probs, chosen, source = [], [], []
    for country, q, opts in zip(samples["country"], samples["q_id"], samples["options"]):
        counts = per_cq.get((country, q)) if by_country else None
        label = "country_majority"
        if counts is None:
            counts, label = per_q.get((q,)), "majority"
        if counts is None:
            p = np.full(len(opts), 1.0 / len(opts))
            probs.append(p), chosen.append(int(rng.integers(len(opts)))), source.append("uniform")
            continue
        probs.append(counts / counts.sum()), chosen.append(int(np.argmax(counts))), source.append(label)
    return _prediction_rows(samples, probs, chosen, source)


def uniform_predictions(samples: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = samples["options"].map(len).to_numpy()
    chosen = [int(rng.integers(n)) for n in k]
    return _prediction_rows(samples, [np.full(n, 1.0 / n) for n in k], chosen, ["uniform"] * len(samples))


def classifier_predictions(train: pd.DataFrame, samples: pd.DataFrame, attribute_names: Sequence[str],
                           seed: int) -> pd.DataFrame:
    """One multinomial logistic regression per question on one-hot attributes (unknown labels, such
    as an unseen country, are ignored)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(seed)
    probs: list = [None] * len(samples)
    chosen: list = [None] * len(samples)
    source: list = [None] * len(samples)
    position = {sid: i for i, sid in enumerate(samples["sample_id"])}
    for q, targets in samples.groupby("q_id", sort=False):
        k = len(targets["options"].iloc[0])
        fit_rows = train[train["q_id"] == q]
        if fit_rows.empty:
            for sid in targets["sample_id"]:
                i = position[sid]
                probs[i], chosen[i], source[i] = np.full(k, 1.0 / k), int(rng.integers(k)), "uniform"
            continue
        model = make_pipeline(OneHotEncoder(handle_unknown="ignore"),
                              LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
        y = fit_rows["answer_index"].to_numpy()
        if len(np.unique(y)) == 1:  # one class only: the classifier degenerates to that class
            p_all = np.zeros((len(targets), k))
            p_all[:, y[0]] = 1.0
        else:
            model.fit(fit_rows[list(attribute_names)].astype(str), y)
            p_fit = model.predict_proba(targets[list(attribute_names)].astype(str))
            p_all = np.zeros((len(targets), k))
            p_all[:, model.classes_] = p_fit
        for sid, p in zip(targets["sample_id"], p_all):
            i = position[sid]
            probs[i], chosen[i], source[i] = p, int(np.argmax(p)), "demographic_classifier"
    return _prediction_rows(samples, probs, chosen, source)


def reference_predictions(name: str, train: pd.DataFrame, samples: pd.DataFrame, attribute_names: Sequence[str],
                          seed: int = 0) -> pd.DataFrame:
    if name == "uniform":
        return uniform_predictions(samples, seed)
    if name in ("majority", "country_majority"):
        return majority_predictions(train, samples, by_country=name == "country_majority", seed=seed)
    if name == "demographic_classifier":
        return classifier_predictions(train, samples, attribute_names, seed)
    raise ValueError(f"unknown reference predictor {name!r} (use one of {', '.join(REFERENCE_PREDICTORS)})")

"""Figure 1c: how much each of the 11 attributes tells about the answer to each value question.

Per question, a random forest (scikit-learn) predicts the answer from the attribute labels of the
respondents who answered (a seeded subsample of at most `max_respondents`); the importance of an
attribute is its permutation importance (`sklearn.inspection.permutation_importance`) on the
held-out respondents: the drop of the score when that attribute's column is shuffled, averaged
over `n_repeats` shuffles. Not impurity importance: that is measured on the training data and
favours attributes with many labels (Country, Religion, Language).

The 95% CI of an importance resamples the held-out respondents (percentile bootstrap) with the
predictions of the same shuffles, so it covers the test-sample noise as well as the shuffles'.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from dvmap.stats import bootstrap_scores, multinomial_draws, percentile_ci

METRICS: dict[str, Callable] = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score}

COLUMNS = ["q_id", "attribute", "importance", "importance_std", "importance_ci_low", "importance_ci_high",
           "n_available", "n_train", "n_test", "n_classes", "scoring", "baseline_score", "baseline_ci_low",
           "baseline_ci_high", "majority_score", "attribute_rank", "question_rank"]


def question_importance(X: pd.DataFrame, y: np.ndarray, spec: Mapping, seed: int, n_resamples: int,
                        n_jobs: int = 1) -> dict:
    """Permutation importance of each column of X for predicting y: fit on the training part, measure on
    the held-out part. Returns importances (mean, std over shuffles, bootstrap CI) and the scores."""
    y = np.asarray(y).astype(str)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=spec["test_share"], random_state=seed)
    forest = RandomForestClassifier(**spec["random_forest"], random_state=seed, n_jobs=n_jobs)
    model = make_pipeline(OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), forest)
    model.fit(X_train, y_train)
    metric = METRICS[spec["scoring"]]
    recorded: list[np.ndarray] = []

    def scorer(estimator, features, truth):  # keeps each call's predictions for the bootstrap
        predicted = estimator.predict(features)
        recorded.append(predicted)
        return metric(truth, predicted)

    result = permutation_importance(model, X_test, y_test, scoring=scorer, n_repeats=spec["n_repeats"],
                                    random_state=seed, n_jobs=None)
    n_attr, n_rep = X.shape[1], spec["n_repeats"]
    predictions = np.stack(recorded)
    if predictions.shape[0] != 1 + n_attr * n_rep:
        raise RuntimeError(f"permutation_importance scored {predictions.shape[0]} times, expected {1 + n_attr * n_rep}")
    # The recorded calls are the baseline, then each column's shuffles in order: check against sklearn's numbers.
    full = bootstrap_scores(y_test, predictions, spec["scoring"], np.ones((1, len(y_test))))[0]
    per_shuffle = (full[0] - full[1:]).reshape(n_attr, n_rep)
    if not np.allclose(per_shuffle, result.importances, atol=1e-12):
        raise RuntimeError("recorded predictions do not reproduce permutation_importance (call order changed?)")
    rng = np.random.default_rng(seed)
    draws = multinomial_draws(rng, len(y_test), n_resamples)
    boot = bootstrap_scores(y_test, predictions, spec["scoring"], draws)
    boot_importance = boot[:, :1] - boot[:, 1:].reshape(n_resamples, n_attr, n_rep).mean(axis=2)
    low, high = percentile_ci(boot_importance, nan_policy="propagate")
    base_low, base_high = percentile_ci(boot[:, 0], nan_policy="propagate")
    majority = pd.Series(y_train).value_counts().sort_index(kind="stable").idxmax()
    return {"importance": result.importances_mean, "importance_std": result.importances_std,
            "importance_ci_low": low, "importance_ci_high": high, "n_train": len(y_train), "n_test": len(y_test),
            "n_classes": int(len(np.unique(y))), "baseline_score": float(full[0]),
            "baseline_ci_low": float(base_low), "baseline_ci_high": float(base_high),
            "majority_score": float(metric(y_test, np.full(len(y_test), majority)))}


def attribute_importance(respondents: pd.DataFrame, attribute_names: Sequence[str], questions: Sequence[Mapping],
                         countries: Sequence[str], spec: Mapping, seed: int, n_resamples: int,
                         n_jobs: int = 1, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Figure 1c: one row per (question, attribute), questions and attributes in spec order, with
    ranks by mean importance (1 = most important attribute over questions / most
    attribute-dependent question). Questions answered by one option only get NaN importances."""
    pool = respondents[respondents["country"].isin(countries)]
    rows = []
    for q_i, q in enumerate(questions):
        answered = pool[pool[q["id"]].notna()]
        n_available = len(answered)
        if len(answered) > spec["max_respondents"]:
            rng = np.random.default_rng([seed, q_i])
            answered = answered.iloc[np.sort(rng.choice(len(answered), spec["max_respondents"], replace=False))]
        y = answered[q["id"]].to_numpy(dtype=str)
        n_test = int(np.ceil(spec["test_share"] * len(y)))
        if len(np.unique(y)) < 2 or n_test < 2 or len(y) - n_test < 2:
            res = {"importance": np.full(len(attribute_names), np.nan), "n_train": len(y) - n_test,
                   "n_test": n_test, "n_classes": int(len(np.unique(y)))}
        else:
            res = question_importance(answered[list(attribute_names)].astype(str), y, spec, seed + q_i, n_resamples,
                                      n_jobs)
        if log:
            log(f"{q['id']}: n = {n_available} (used {len(y)}), baseline {res.get('baseline_score', np.nan):.3f}")
        for a_i, attr in enumerate(attribute_names):
            rows.append({"q_id": q["id"], "attribute": attr, "n_available": n_available, "scoring": spec["scoring"],
                         **{k: (v[a_i] if isinstance(v, np.ndarray) else v) for k, v in res.items()}})
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    attr_rank = table.groupby("attribute", sort=False)["importance"].mean().rank(ascending=False, method="first")
    q_rank = table.groupby("q_id", sort=False)["importance"].mean().rank(ascending=False, method="first")
    table["attribute_rank"] = table["attribute"].map(attr_rank).astype("Int64")
    table["question_rank"] = table["q_id"].map(q_rank).astype("Int64")
    return table

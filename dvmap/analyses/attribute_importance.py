"""Figure 1c: how much each of the 11 attributes tells about the answer to each value question.

Per question, a random forest (scikit-learn) predicts the answer from the attribute labels of the
respondents who answered (a seeded subsample of at most `max_respondents`). The importance of an
attribute, by two methods of the same fitted forest (`method` column):

  mdi          the paper's: Mean Decrease Impurity (`feature_importances_`), the impurity decrease
               of the attribute's splits on the training respondents, averaged over trees (shares
               summing to 1). Measured on the training data, it also credits splits that only fit
               noise and favours attributes with many labels (Country, Religion, Language). Its CI
               resamples the trees: the forest's own randomness, not the respondents' sampling.
  permutation  the kit's: `sklearn.inspection.permutation_importance` on the held-out respondents,
               the drop of the score when that attribute's column is shuffled, averaged over
               `n_repeats` shuffles. Its 95% CI resamples the held-out respondents (percentile
               bootstrap) with the predictions of the same shuffles, so it covers the test-sample
               noise as well as the shuffles'.

rank_agreement compares the two rankings of the attributes per question (Spearman, Kendall).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dvmap.stats import bootstrap_scores, multinomial_draws, percentile_ci

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier

# scikit-learn and scipy are imported where the forests are fitted and the rankings compared: this
# module's output formats (COLUMNS, AGREEMENT_COLUMNS) are read when the DAG is built (the claims
# registry), which must not pay for them.


METHODS = ("mdi", "permutation")
COLUMNS = ["q_id", "method", "attribute", "importance", "importance_std", "importance_ci_low", "importance_ci_high",
           "n_available", "n_train", "n_test", "n_classes", "scoring", "baseline_score", "baseline_ci_low",
           "baseline_ci_high", "majority_score", "attribute_rank", "question_rank"]
AGREEMENT_COLUMNS = ["q_id", "n_attributes", "spearman_rho", "spearman_p", "kendall_tau", "kendall_p", "top_mdi",
                     "top_permutation"]


def question_importance(X: pd.DataFrame, y: np.ndarray, spec: Mapping, seed: int, n_resamples: int,
                        n_jobs: int = 1) -> dict:
    """Permutation importance of each column of X for predicting y: fit on the training part, measure on
    the held-out part. Returns importances (mean, std over shuffles, bootstrap CI), the forest's MDI
    (mean over trees, std over trees, CI over resampled trees, under `mdi_*`) and the scores."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    y = np.asarray(y).astype(str)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=spec["test_share"], random_state=seed)
    forest = RandomForestClassifier(**spec["random_forest"], random_state=seed, n_jobs=n_jobs)
    model = make_pipeline(OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), forest)
    model.fit(X_train, y_train)
    metric = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score}[spec["scoring"]]
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
    mdi = mean_decrease_impurity(forest, np.random.default_rng([seed, 1]), n_resamples)
    return {**mdi, "importance": result.importances_mean, "importance_std": result.importances_std,
            "importance_ci_low": low, "importance_ci_high": high, "n_train": len(y_train), "n_test": len(y_test),
            "n_classes": int(len(np.unique(y))), "baseline_score": float(full[0]),
            "baseline_ci_low": float(base_low), "baseline_ci_high": float(base_high),
            "majority_score": float(metric(y_test, np.full(len(y_test), majority)))}


def mean_decrease_impurity(forest: RandomForestClassifier, rng: np.random.Generator, n_resamples: int) -> dict:
    """The forest's MDI (sklearn's `feature_importances_`: per-tree normalised impurity decreases of the
    trees that split, averaged, renormalised), its std over trees and a percentile CI over resampled trees."""
    per_tree = np.array([t.tree_.compute_feature_importances(normalize=True) for t in forest.estimators_
                         if t.tree_.node_count > 1])
    if len(per_tree) == 0:
        nan = np.full(forest.n_features_in_, np.nan)
        return {"mdi_importance": nan, "mdi_std": nan, "mdi_ci_low": nan, "mdi_ci_high": nan}
    boot = multinomial_draws(rng, len(per_tree), n_resamples) @ per_tree
    boot /= boot.sum(axis=1, keepdims=True)
    low, high = percentile_ci(boot, nan_policy="propagate")
    return {"mdi_importance": forest.feature_importances_, "mdi_std": per_tree.std(axis=0), "mdi_ci_low": low,
            "mdi_ci_high": high}


def attribute_importance(respondents: pd.DataFrame, attribute_names: Sequence[str], questions: Sequence[Mapping],
                         countries: Sequence[str], spec: Mapping, seed: int, n_resamples: int,
                         n_jobs: int = 1, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Figure 1c: one row per (question, method, attribute), questions and attributes in spec order,
    methods mdi then permutation, with ranks by mean importance within each method (1 = most
    important attribute over questions / most attribute-dependent question). Questions answered by
    one option only get NaN importances."""
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
        mdi = {"importance": res.pop("mdi_importance", res["importance"]), "importance_std": res.pop("mdi_std", None),
               "importance_ci_low": res.pop("mdi_ci_low", None), "importance_ci_high": res.pop("mdi_ci_high", None)}
        for method in METHODS:
            values = {**res, **mdi} if method == "mdi" else res
            for a_i, attr in enumerate(attribute_names):
                rows.append({"q_id": q["id"], "method": method, "attribute": attr, "n_available": n_available,
                             "scoring": spec["scoring"] if method == "permutation" else "impurity (gini)",
                             **{k: (v[a_i] if isinstance(v, np.ndarray) else v) for k, v in values.items()}})
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for method in METHODS:
        part = table[table["method"] == method]
        attr_rank = part.groupby("attribute", sort=False)["importance"].mean().rank(ascending=False, method="first")
        q_rank = part.groupby("q_id", sort=False)["importance"].mean().rank(ascending=False, method="first")
        table.loc[part.index, "attribute_rank"] = part["attribute"].map(attr_rank)
        table.loc[part.index, "question_rank"] = part["q_id"].map(q_rank)
    table["attribute_rank"] = table["attribute_rank"].astype("Int64")
    table["question_rank"] = table["question_rank"].astype("Int64")
    return table


def rank_agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Per question (and over the questions' mean importances, q_id `all`), how alike MDI and
    permutation importance rank the attributes: Spearman's rho and Kendall's tau-b (scipy) with
    their p-values, n attributes, and each method's top attribute. NaN where a method has no
    importances (a one-answer question) or no spread."""
    from scipy import stats as sps

    wide = table.pivot_table(index=["q_id", "attribute"], columns="method", values="importance", sort=False,
                             dropna=False)
    means = table.groupby(["method", "attribute"], sort=False)["importance"].mean().unstack("method")
    groups = [(q, wide.xs(q, level="q_id")) for q in dict.fromkeys(table["q_id"])] + [("all", means)]
    rows = []
    for q_id, part in groups:
        ok = part[list(METHODS)].dropna()
        mdi, perm = ok["mdi"].to_numpy(dtype=float), ok["permutation"].to_numpy(dtype=float)
        spread = len(ok) >= 3 and np.ptp(mdi) > 0 and np.ptp(perm) > 0
        rho, rho_p = sps.spearmanr(mdi, perm) if spread else (np.nan, np.nan)
        tau, tau_p = sps.kendalltau(mdi, perm) if spread else (np.nan, np.nan)
        rows.append({"q_id": q_id, "n_attributes": len(ok), "spearman_rho": float(rho), "spearman_p": float(rho_p),
                     "kendall_tau": float(tau), "kendall_p": float(tau_p),
                     "top_mdi": ok["mdi"].idxmax() if len(ok) else None,
                     "top_permutation": ok["permutation"].idxmax() if len(ok) else None})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)

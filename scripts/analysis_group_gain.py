"""Snakemake adapter: accuracy gain (DVMap minus its base; a reference predictor minus uniform) per group
against a distance. Figure 9 (rule country_gain): countries and their distance on the cultural map.
Table 12 (rule question_gain): cross-value questions and their semantic distance to the training ones."""
import pandas as pd

from dvmap.analyses.model_figures import country_gain_figure, empty_figure, question_gain_figure
from dvmap.analyses.model_stats import group_gains, map_distances, semantic_distances
from dvmap.evaluate.metrics import parse_predictions
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    by_country = sm.rule == "country_gain"
    samples = pd.read_parquet(sm.input.dataset)
    rows = {name: (kind, files) for name, _t, kind, files in sm.params.rows}
    comparisons = [(a, b, "language model") for a, b in sm.params.comparisons if a in rows and b in rows]
    if "uniform" in rows:  # the reference predictors' own gain over chance, next to the models'
        comparisons += [(r, "uniform", kind) for r, (kind, _) in rows.items()
                        if kind == "reference predictor" and r != "uniform"]
    if by_country:
        places = map_distances(sm.params.countries, sm.params.countries_file)
        info = places.rename(columns={"country": "group"})
        distances = {"nearest": dict(zip(places["country"], places["distance_nearest"])),
                     "mean": dict(zip(places["country"], places["distance_mean"]))}
        groups = samples["country"].to_numpy()
    else:
        targets = list(dict.fromkeys(samples["q_id"]))
        places = semantic_distances(pd.read_parquet(sm.input.embeddings), targets, sm.params.training_questions)
        info = places.rename(columns={"q_id": "group"})
        distances = {"average": dict(zip(places["q_id"], places["distance_average"])),
                     "nearest": dict(zip(places["q_id"], places["distance_nearest"]))}
        groups = samples["q_id"].to_numpy()


    def note(model, kind, r):
        parts = []
        if kind == "reference predictor" and not by_country:
            parts.append("on unseen questions every reference predictor falls back to uniform: its gain over uniform "
                         "is 0 or sampling noise")
        if kind == "reference predictor" and by_country and model == "country_majority":
            parts.append("in unseen countries country_majority falls back to the question majority")
        if pd.isna(r):
            parts.append("r undefined: the gain does not vary")
        return "; ".join(parts)

    correct = {}
    gain_frames, corr_frames = [], []
    for a, b, kind in comparisons:
        for name in (a, b):
            if name not in correct:
                correct[name] = [parse_predictions(pd.read_parquet(f), samples)["correct"].to_numpy()
                                 for f in rows[name][1]]
        gains, corr = group_gains(correct[a], correct[b], groups, distances, sm.params.resamples, sm.params.seed)
        for frame in (gains, corr):
            frame.insert(0, "kind", kind)
            frame.insert(0, "model_b", b)
            frame.insert(0, "model_a", a)
        gains = gains.merge(info[["group", *[c for c in info.columns if c.startswith("nearest_") or c in ("x", "y")]]],
                            on="group", how="left")
        if by_country:  # nearest to farthest from the training countries
            gains = gains.sort_values(["distance_nearest", "group"], kind="stable")
        gain_frames.append(gains)
        corr["note"] = [note(a, kind, r) for r in corr["r"]]
        corr_frames.append(corr)
        for _, c in corr.iterrows():
            log.info("%s - %s: r(gain, %s distance) = %.3f [%.3f, %.3f], %d points", a, b, c["distance"], c["r"],
                     c["r_ci_low"], c["r_ci_high"], c["n_points"])
    gain_table = pd.concat(gain_frames, ignore_index=True) if gain_frames else pd.DataFrame(
        columns=["model_a", "model_b", "kind", "group", "n", "gain", "gain_ci_low", "gain_ci_high"])
    corr_table = pd.concat(corr_frames, ignore_index=True) if corr_frames else pd.DataFrame(
        columns=["model_a", "model_b", "kind", "distance", "n_points", "r", "r_ci_low", "r_ci_high"])
    gain_table = gain_table.rename(columns={"group": "country" if by_country else "q_id"})
    gain_table.round(4).to_csv(sm.output.gains, index=False)
    corr_table.round(4).to_csv(sm.output.correlations, index=False)
    plot_table = gain_table.rename(columns={"country": "group", "q_id": "group"})
    if not len(plot_table):
        empty_figure("Figure 9" if by_country else "Table 12", "no comparison: no DVMap/base pair among the rows "
                     "and no uniform reference predictor", sm.output.figure)
    elif by_country:
        country_gain_figure(plot_table, corr_table, sm.output.figure)
    else:
        question_gain_figure(plot_table, corr_table, sm.output.figure)

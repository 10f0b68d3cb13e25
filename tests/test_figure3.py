"""Figure 3 (issue 21): accuracy per country with CIs, each model's difference to its own accuracy on
the other countries, and its rank among the language models (dvmap.evaluate.tables.per_group_table),
and the paper's two Figure 3 claims judged on that table: DVMap in the top 3 in every country, the
other models dropping on China and Russia. The outputs are made by construction (exact shares of
correct answers per country), so every verdict is decided by margins far outside any CI."""
import pandas as pd
import pytest

from dvmap.claims import judge_claims
from dvmap.evaluate.tables import PER_GROUP_COLUMNS, grouped_bar_figure, per_group_table
from dvmap.specs import ROOT, read_yaml

SPEC = read_yaml(ROOT / "specs/claims.yaml")
FIG3 = [c for c in SPEC["claims"] if c["id"] in ("fig3_top3_every_country", "fig3_others_drop_chn_rus")]
COUNTRIES = ["USA", "DEU", "CHN", "RUS"]
N = 80  # samples per country


def parsed(shares: dict[str, float], shift: int = 0) -> pd.DataFrame:
    """One seed's parsed predictions: in each country the first share x N samples (rotated by
    `shift`, so seeds differ) answered correctly."""
    rows = []
    for country in COUNTRIES:
        right = round(shares[country] * N)
        for i in range(N):
            rows.append({"sample_id": f"{country}-{i}", "country": country, "q_id": f"Q{i % 4}",
                         "correct": (i + shift) % N < right})
    return pd.DataFrame(rows)


def flat(share: float, chn_rus: float | None = None) -> dict[str, float]:
    return {c: chn_rus if chn_rus is not None and c in ("CHN", "RUS") else share for c in COUNTRIES}


def table(dvmap: float = 0.8, others_on_chn_rus: float = 0.25) -> pd.DataFrame:
    models = {
        "tiny-dvmap": [parsed(flat(dvmap), s) for s in range(3)],  # three seeds
        "tiny-base": [parsed(flat(0.6, others_on_chn_rus))],
        "tiny-small-base": [parsed(flat(0.55, others_on_chn_rus - 0.05))],
        "tiny-llama-base": [parsed(flat(0.5, others_on_chn_rus - 0.1))],
        "majority": [parsed(flat(0.95))],  # a reference predictor: shown, never ranked
    }
    kinds = {m: "reference predictor" if m == "majority" else "language model" for m in models}
    return per_group_table(models, "country", kinds, seed=0, n_resamples=1000)


def test_per_group_table_columns_accuracies_and_ranks():
    frame = table()
    assert list(frame.columns) == [c.format(group="country") for c in PER_GROUP_COLUMNS]
    at = frame.set_index(["model", "country"])
    assert at.loc[("tiny-dvmap", "CHN"), "acc"] == pytest.approx(0.8)  # the mean over its three seeds
    assert at.loc[("tiny-base", "CHN"), "acc"] == pytest.approx(0.25)
    assert at.loc[("tiny-base", "CHN"), "acc_vs_rest"] == pytest.approx(0.25 - (0.6 * 2 + 0.25) / 3, abs=1e-4)
    assert at.loc[("tiny-dvmap", "USA"), "n_seeds"] == 3 and at.loc[("tiny-dvmap", "USA"), "n"] == N
    ranked = frame[frame["kind"] == "language model"]
    assert {c: sorted(g["rank"]) for c, g in ranked.groupby("country")} == {c: [1, 2, 3, 4] for c in COUNTRIES}
    assert (ranked["rank_ci_low"] <= ranked["rank"]).all() and (ranked["rank"] <= ranked["rank_ci_high"]).all()
    assert (ranked["n_ranked"] == 4).all()
    reference = frame[frame["model"] == "majority"]
    assert reference[["rank", "rank_ci_low", "rank_ci_high", "n_ranked"]].isna().all().all()
    assert (frame["acc_ci_low"] <= frame["acc"]).all() and (frame["acc"] <= frame["acc_ci_high"]).all()
    assert frame.equals(table())  # seeded: the same table every time


def test_per_group_table_refuses_predictions_on_other_samples():
    other = parsed(flat(0.5)).iloc[::-1].reset_index(drop=True)
    with pytest.raises(Exception, match="not on the same samples"):
        per_group_table({"a": [parsed(flat(0.5))], "b": [other]}, "country", {"a": "language model", "b": "language model"})


def test_figure_shows_the_confidence_intervals(tmp_path):
    path = tmp_path / "per_country.png"
    grouped_bar_figure(table(), "country", "accuracy per country", path, ["majority"])
    assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def judge(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    files = {"results/tables/cross_demographic_per_group.csv": frame}
    verdicts = judge_claims(FIG3, files.__getitem__, SPEC["stand_ins"], paper_models=SPEC["paper_models"])
    return {row.id: (row.verdict, row.reason, row.evidence) for row in verdicts.itertuples()}


def test_figure3_claims_reproduced_when_dvmap_leads_and_the_others_drop():
    verdicts = judge(table())
    top3, drop = verdicts["fig3_top3_every_country"], verdicts["fig3_others_drop_chn_rus"]
    assert top3[0] == "reproduced", top3
    assert all(f"country = {c}: reproduced (rank 1 [1, 1]" in top3[1] for c in COUNTRIES), top3[1]
    assert drop[0] == "reproduced", drop
    for model in ("tiny-base", "tiny-small-base", "tiny-llama-base"):  # each other model on each country
        for country in ("CHN", "RUS"):
            assert f"country = {country}, kind = language model, model != tiny-dvmap, model = {model}" in drop[1]
    assert "model = tiny-dvmap:" not in drop[1] and "majority" not in drop[1]  # DVMap and references left out
    assert top3[2] == drop[2] == "stand-in"  # the demo's tiny models stand for the paper's


def test_figure3_claims_contradicted_when_dvmap_trails_or_the_others_hold():
    verdicts = judge(table(dvmap=0.2, others_on_chn_rus=0.9))
    assert verdicts["fig3_top3_every_country"][0] == "contradicted"
    assert "rank 4 [4, 4] below the top 3" in verdicts["fig3_top3_every_country"][1]
    assert verdicts["fig3_others_drop_chn_rus"][0] == "contradicted"
    level = judge(table(others_on_chn_rus=0.6))["fig3_others_drop_chn_rus"]
    assert level[0] == "inconclusive", level  # no drop at all: each difference's CI covers 0


def test_figure3_claims_not_run_without_the_countries():
    frame = table()
    verdicts = judge(frame[frame["country"] != "CHN"])
    assert verdicts["fig3_others_drop_chn_rus"][0] == "not run"
    assert "country = CHN" in verdicts["fig3_others_drop_chn_rus"][1]
    assert verdicts["fig3_top3_every_country"][0] == "reproduced"  # every country the run has

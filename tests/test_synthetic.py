"""The synthetic WVS-7 file: deterministic, calibrated, and structured (demographics predict answers)."""
import hashlib

import numpy as np
import pandas as pd
import pytest

from dvmap.data import archetypes, audit, synthetic, wvs_io


@pytest.fixture(scope="module")
def demo(_specs, calibration, tmp_path_factory):
    frame, value_labels, column_labels = synthetic.synthetic_frame(_specs, "demo", calibration)
    path = tmp_path_factory.mktemp("syn") / "demo.sav"
    synthetic.write_sav(frame, value_labels, column_labels, path)
    return frame, path


@pytest.fixture(scope="module")
def respondents(demo, _specs, attribute_names):
    r = wvs_io.read_respondents(demo[1], _specs)
    r.insert(1, "profile_id", archetypes.profile_ids(r, attribute_names))
    return r


def test_same_spec_same_bytes(demo, _specs, calibration, tmp_path):
    frame, value_labels, column_labels = synthetic.synthetic_frame(_specs, "demo", calibration)
    synthetic.write_sav(frame, value_labels, column_labels, tmp_path / "again.sav")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(tmp_path / "again.sav") == digest(demo[1])


def test_seed_changes_the_file(demo, _specs, calibration):
    other = {**_specs, "synthetic": {**_specs["synthetic"], "seed": 1}}
    frame, _, _ = synthetic.synthetic_frame(other, "demo", calibration)
    assert not frame["Q1"].equals(demo[0]["Q1"])


def test_real_sav_with_wvs_names_labels_and_missing_codes(demo, _specs):
    frame, path = demo
    _, meta = __import__("pyreadstat").read_sav(str(path), metadataonly=True)
    assert {"B_COUNTRY", "W_WEIGHT", "D_INTERVIEW", "Q260", "Q289CS9", "Q1", "Q132"} <= set(meta.column_names)
    assert meta.variable_value_labels["Q46"][2.0] == "Rather happy"
    assert meta.variable_value_labels["Q260"][-2.0] == "No answer"
    assert len(meta.column_names) == _specs["synthetic"]["sizes"]["demo"]["n_columns"]
    for var in ("Q273", "Q1", "Q284"):
        rate = (frame[var] < 0).mean()
        assert 0.0 < rate < 0.6, (var, rate)
    egypt = frame[frame["B_COUNTRY"] == 818]
    assert (egypt["Q36"] == -4).all()  # not asked in Egypt, as in the release


def test_marginals_follow_the_calibration(respondents, calibration, _specs):
    """Label and answer shares per training country track the calibration. Shared profiles cluster
    respondents, so single cells are noisy; the mean absolute error over all cells is tight."""
    attribute_errors, answer_errors = [], []
    questions = {q["id"]: q for q in _specs["questions"]["questions"]}
    for iso3, cal in calibration["countries"].items():
        rows = respondents[respondents["country"] == iso3]
        for attr, shares in cal["attributes"].items():
            observed = rows[attr].value_counts(normalize=True)
            attribute_errors += [abs(observed.get(label, 0.0) - s) for label, s in shares.items()]
        for q, shares in cal["answers"].items():
            observed = rows[q].value_counts(normalize=True)
            answer_errors += [abs(observed.get(o, 0.0) - s) for o, s in zip(questions[q]["options"], shares)]
    assert np.mean(attribute_errors) < 0.03
    assert np.mean(answer_errors) < 0.03
    assert max(answer_errors) < 0.2


def test_demographics_predict_answers(respondents):
    # Religion moves Q6 (importance of religion) within a country: the latent model is not noise.
    usa = respondents[respondents["country"] == "USA"]
    idx = usa["Q6"].map({"Very important": 0, "Rather important": 1, "Not very important": 2, "Not at all important": 3})
    secular = idx[usa["Religion"] == "Non-religious"].mean()
    religious = idx[usa["Religion"].isin(["Roman Catholic; Latin Church;", "Protestant; nfd"])].mean()
    assert secular - religious > 0.5


def test_cross_country_countries_have_positions_of_their_own(respondents):
    share = lambda c: (respondents.loc[respondents["country"] == c, "Q36"] == "Agree strongly").mean()  # noqa: E731
    assert share("AUS") > share("PAK") + 0.1


def test_cross_value_questions_share_structure_with_neighbours(respondents):
    enc = lambda q, opts: respondents[q].map({o: i for i, o in enumerate(opts)})  # noqa: E731
    trust = ["Trust completely", "Trust somewhat", "Do not trust very much", "Do not trust at all"]
    rho = pd.concat([enc("Q60", trust), enc("Q61", trust)], axis=1).corr(method="spearman").iloc[0, 1]
    assert rho > 0.1


def test_profiles_are_shared_and_filter_removes_some(respondents, _specs, attribute_names):
    table = archetypes.archetype_table(respondents, _specs["questions"]["questions"], _specs["filter"])
    report = audit.filtering_report(respondents, table, attribute_names, _specs["filter"])
    # the paper: 32.8% of samples share a profile; 9.2% of samples removed
    assert 0.2 < report["respondents_sharing_a_profile"] < 0.45
    assert 0.04 < report["answers_removed_share"] < 0.15


def test_full_size_plan():
    gen = synthetic._Generator.__new__(synthetic._Generator)
    import yaml

    from dvmap.specs import ROOT
    spec = yaml.safe_load((ROOT / "specs/synthetic.yaml").read_text())
    gen.size, gen.size_name, gen.countries = spec["sizes"]["full"], "full", spec["countries"]
    sizes = gen.country_sizes()
    assert sum(n for _, _, n in sizes) == 97220
    # WVS-7 v6: 64 countries; the file's named countries and unnamed others
    assert len(sizes) == 64 and len({num for num, _, _ in sizes}) == len(sizes)

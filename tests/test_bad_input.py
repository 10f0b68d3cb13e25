"""Real WVS files as they come, and inputs a hostile but fair user would try (issue 17): each check of
docs/bad-input.md on a small input made here. Endpoint answers are in tests/test_endpoint_failures.py."""
import json
import time

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from conftest import snakemake

from dvmap import configuration, files
from dvmap import specs as spec_module
from dvmap.data import archetypes, audit, prompts, release, synthetic, wvs_io
from dvmap.errors import OutputError, SpecError, SurveyFileError
from dvmap.specs import ROOT


@pytest.fixture(scope="module")
def frame(_specs, calibration):
    small = {**_specs, "synthetic": {**_specs["synthetic"],
                                      "sizes": {**_specs["synthetic"]["sizes"],
                                                "demo": {"respondents_per_country": 30, "extra_countries": 1,
                                                         "n_columns": 50}}}}
    return synthetic.synthetic_frame(small, "demo", calibration)[0]


def study(specs, *iso3):
    """The specs with a study of the named countries (the first trains)."""
    chosen = [dict(c) for c in specs["countries"]["countries"] if c["iso3"] in iso3]
    chosen[0]["role"] = "train"
    return {**specs, "countries": {"countries": chosen}}


def attribute(specs, name):
    return next(a for a in specs["attributes"]["attributes"] if a["name"] == name)


# ---- missing attribute codes: kept as "Not Answered" or the respondent dropped, per attribute ----------------
def test_missing_income_and_age_drop_the_respondent_and_are_counted(frame, specs, tmp_path):
    data = frame.copy()
    usa = np.flatnonzero(data["B_COUNTRY"].to_numpy() == 840)
    data.loc[usa[[0, 1, 2]], "Q288"] = [-2, -1, -2]          # income refused
    data.loc[usa[[2, 3]], "Q262"] = [-1, -5]                 # age missing (row 2: both)
    data.loc[usa[[4]], "Q273"] = -2                          # marital status: kept as Not Answered
    data.to_csv(tmp_path / "wvs.csv", index=False)
    s = study(specs, "USA")
    assert attribute(s, "Income Bracket")["missing"] == attribute(s, "Life Stage")["missing"] == "drop"
    raw, labels = wvs_io.read_survey_columns(tmp_path / "wvs.csv", s)
    codes = wvs_io.survey_codes(raw, "wvs.csv")
    record = {}
    kept = wvs_io.country_respondents(codes, s["countries"]["countries"][0], s, "wvs.csv", labels, record=record)
    ids = set(codes["respondent_id"].to_numpy()[usa])
    dropped = {codes["respondent_id"][i] for i in usa[:4]}
    assert set(kept["respondent_id"]) == ids - dropped
    assert "Not Answered" not in set(kept["Income Bracket"]) | set(kept["Life Stage"])
    assert kept.loc[kept["respondent_id"] == codes["respondent_id"][usa[4]], "Marital Status"].item() == "Not Answered"
    assert record["respondents"] == len(usa) and record["dropped"] == 4 and record["kept"] == len(usa) - 4
    per = record["per_attribute"]
    assert per["Income Bracket"] == {"missing": "drop", "respondents": 3}
    assert per["Life Stage"] == {"missing": "drop", "respondents": 2}
    assert per["Marital Status"]["missing"] == "not_answered" and per["Marital Status"]["respondents"] >= 1
    counts = audit.counts_report({}, [], [{"country": "USA", **record}])["missing_attribute_codes"]
    assert counts["dropped"] == 4 and counts["per_country"]["USA"]["per_attribute"]["Income Bracket"]["respondents"] == 3
    # the other choice keeps them, labelled
    attribute(s, "Income Bracket")["missing"] = attribute(s, "Life Stage")["missing"] = "not_answered"
    labelled = wvs_io.country_respondents(codes, s["countries"]["countries"][0], s, "wvs.csv", labels)
    assert len(labelled) == len(usa)
    assert (labelled["Income Bracket"] == "Not Answered").sum() == 3


def test_a_country_whose_every_respondent_is_dropped_is_named(frame, specs):
    data = frame.copy()
    data.loc[data["B_COUNTRY"] == 840, "Q288"] = -2
    s = study(specs, "USA")
    codes = wvs_io.survey_codes(data[[c for c in data.columns if c not in ("version", "B_COUNTRY_ALPHA")]], "w.sav")
    with pytest.raises(SurveyFileError, match=r"w.sav: every one of the 30 respondents of USA has a missing code in an "
                                              r"attribute whose missing codes drop the respondent \(Income Bracket;"):
        wvs_io.country_respondents(codes, s["countries"]["countries"][0], s, "w.sav")


def test_the_default_follows_the_release(release_dev, _specs):
    """`missing: drop` exactly where the release's dev split never shows "Not Answered" and its
    missing codes are common (income, age; the spec's comment says why gender and language keep it)."""
    for a in _specs["attributes"]["attributes"]:
        if a.get("from_countries"):
            continue
        shown = (release_dev[a["name"]] == _specs["attributes"]["not_answered"]).any()
        if a.get("missing") == "drop":
            assert not shown, a["name"]
        elif a["name"] not in ("Gender", "Common Language"):
            assert shown, a["name"]
    assert {a["name"] for a in _specs["attributes"]["attributes"] if a.get("missing") == "drop"} == {
        "Life Stage", "Income Bracket"}


def test_missing_setting_on_the_country_attribute_is_refused(specs):
    spec = specs["attributes"]
    spec["attributes"][0]["missing"] = "drop"
    with pytest.raises(SpecError, match=r"attributes.yaml: attributes/0/missing: the country attribute"):
        spec_module.check_attributes(spec, "attributes.yaml")


# ---- a country made of several B_COUNTRY codes --------------------------------------------------------------
def test_a_country_pools_several_codes(frame, specs):
    data = frame.drop(columns=["version", "B_COUNTRY_ALPHA"]).copy()
    gbr = np.flatnonzero(data["B_COUNTRY"].to_numpy() == 826)
    data.loc[gbr[:10], "B_COUNTRY"] = 909  # Northern Ireland's sample
    codes = wvs_io.survey_codes(data, "w.sav")
    s = study(specs, "GBR")
    gb_only = wvs_io.country_respondents(codes, s["countries"]["countries"][0], s, "w.sav")
    pooled_country = {**s["countries"]["countries"][0], "b_country": [826, 909]}
    pooled = wvs_io.country_respondents(codes, pooled_country, s, "w.sav")
    assert len(pooled) == len(gb_only) + 10 and set(pooled["country"]) == {"GBR"}
    wvs_io.check_countries_present(codes, [pooled_country], "w.sav")
    absent = {**pooled_country, "b_country": [826, 907]}
    with pytest.raises(SurveyFileError, match=r"w.sav: column B_COUNTRY: no respondent of GBR \(code 907\) in the "
                                              r"file \(one of the codes GBR pools: 826, 907\)"):
        wvs_io.country_respondents(codes, absent, s, "w.sav")
    with pytest.raises(SurveyFileError, match=r"configured countries not in the file: GBR \(907\)"):
        wvs_io.check_countries_present(codes, [absent], "w.sav")


def test_a_code_pooled_into_two_countries_is_refused(specs):
    countries = specs["countries"]
    countries["countries"][1]["b_country"] = [826, 840]
    with pytest.raises(SpecError, match=r"countries.yaml: countries/1/b_country: B_COUNTRY code 840 of GBR is also "
                                        r"read by USA"):
        spec_module.check_countries(countries, "countries.yaml")


def test_pooled_codes_must_be_in_the_synthetic_file(specs):
    specs["countries"]["countries"][1]["b_country"] = [826, 909]
    paths = {"countries": "countries.yaml", "synthetic": "synthetic.yaml"}
    with pytest.raises(SpecError, match=r"countries.yaml: countries/1: GBR \(826/909\) is not in the synthetic survey "
                                        r"file"):
        configuration.check_countries_in_synthetic(specs, paths)
    specs["countries"]["countries"][1]["b_country"] = [826, 20]  # a code the file holds (Andorra): accepted
    configuration.check_countries_in_synthetic(specs, paths)


# ---- .csv rows ending with a separator the header lacks -------------------------------------------------------
def with_trailing_separator(path, rows=None):
    """The file with a separator appended to each data row (all of them, or the given ones)."""
    lines = path.read_text().splitlines()
    out = [lines[0]] + [line + "," if rows is None or i in rows else line for i, line in enumerate(lines[1:], 1)]
    path.write_text("\n".join(out) + "\n")


def test_trailing_separators_are_read_in_place(frame, specs, tmp_path):
    s = study(specs, "USA", "GBR")
    frame.to_csv(tmp_path / "plain.csv", index=False)
    frame.to_csv(tmp_path / "trailing.csv", index=False)
    with_trailing_separator(tmp_path / "trailing.csv")
    pd.testing.assert_frame_equal(wvs_io.read_respondents(tmp_path / "trailing.csv", s),
                                  wvs_io.read_respondents(tmp_path / "plain.csv", s))


def test_a_value_after_the_last_column_is_named(frame, specs, tmp_path):
    path = tmp_path / "trailing.csv"
    frame.to_csv(path, index=False)
    with_trailing_separator(path)
    lines = path.read_text().splitlines()
    lines[5] += "7"  # data row 5 holds a value past the header's last column
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SurveyFileError, match=r"trailing.csv: cannot be read as .csv: the header has \d+ fields and the "
                                              r"rows one more, empty in the first row \(a trailing separator\) but not "
                                              r"in data rows \[5\]"):
        wvs_io.read_respondents(path, study(specs, "USA"))


def test_rows_longer_than_the_header_are_named_not_shifted(frame, specs, tmp_path):
    path = tmp_path / "shifted.csv"
    frame.to_csv(path, index=False)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].split(",", 1)[1]] + lines[1:]) + "\n")  # the header lost its first name
    n = len(frame.columns)
    for read in (wvs_io.check_survey_file, wvs_io.read_respondents):
        with pytest.raises(SurveyFileError, match=rf"shifted.csv: cannot be read as .csv: the header has {n - 1} "
                                                  rf"fields but the first row {n}, so the columns would not line up"):
            read(path, study(specs, "USA"))


# ---- two columns whose names differ only in case ----------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".dta"])
def test_two_columns_matching_one_variable_are_named(frame, specs, tmp_path, suffix):
    data = frame.drop(columns=["version", "B_COUNTRY_ALPHA"]).copy()
    data.insert(len(data.columns), "q46", data["Q46"].to_numpy()[::-1])
    path = tmp_path / f"wvs{suffix}"
    if suffix == ".csv":
        data.to_csv(path, index=False)
    else:
        pyreadstat.write_dta(data, str(path))
    for read in (wvs_io.check_survey_file, wvs_io.read_respondents):
        with pytest.raises(SurveyFileError, match=rf"wvs{suffix}: columns 'Q46' and 'q46' both match the variable Q46 "
                                                  r"\(names match case-insensitively\)"):
            read(path, study(specs, "USA"))


# ---- weights that sum to zero ------------------------------------------------------------------------------------
def weighted_respondents(frame, specs):
    s = study(specs, "USA", "GBR")
    data = frame.drop(columns=["version", "B_COUNTRY_ALPHA"]).copy()
    codes = wvs_io.survey_codes(data, "w.sav")
    names = [a["name"] for a in s["attributes"]["attributes"]]
    table = pd.concat([wvs_io.country_respondents(codes, c, s, "w.sav") for c in s["countries"]["countries"]],
                      ignore_index=True)
    table.insert(1, "profile_id", archetypes.profile_ids(table, names))
    return table, s["questions"]["questions"]


@pytest.mark.parametrize("rule", ["strict", "majority"])
def test_a_country_whose_weights_sum_to_zero_is_named(frame, specs, rule):
    table, questions = weighted_respondents(frame, specs)
    table.loc[table["country"] == "GBR", "weight"] = 0.0
    spec = {"rule": rule, "min_profile_size": 1, "use_weight": True, "max_entropy": None}
    with pytest.raises(SurveyFileError, match=r"w.sav: column W_WEIGHT: the weights of GBR \(30 respondents\) sum to "
                                              r"zero, and the filter spec sets use_weight"):
        archetypes.archetype_table(table, questions, spec, "w.sav")
    unweighted = archetypes.archetype_table(table, questions, {**spec, "use_weight": False}, "w.sav")
    assert not unweighted["entropy"].isna().any()


def test_a_profile_whose_weights_sum_to_zero_is_named(frame, specs):
    table, questions = weighted_respondents(frame, specs)
    profile = table.loc[table["country"] == "USA", "profile_id"].iloc[0]
    table.loc[table["profile_id"] == profile, "weight"] = 0.0
    spec = {"rule": "majority", "min_profile_size": 1, "use_weight": True, "max_entropy": None}
    with pytest.raises(SurveyFileError, match=rf"w.sav: column W_WEIGHT: the respondents of profile {profile} \(USA\) "
                                              r"who answered Q\w+ all have weight 0"):
        archetypes.archetype_table(table, questions, spec, "w.sav")


# ---- config paths holding {...} -----------------------------------------------------------------------------------
def test_a_survey_path_with_braces_is_refused_before_any_job(workflow, tmp_path, frame):
    survey = tmp_path / "wvs{v6}.sav"
    survey.write_bytes(b"")  # need not be valid: the path is refused before anything reads it
    proc = snakemake(workflow, "-n", "--config", f"survey_file={survey}", check=False)
    assert proc.returncode != 0
    assert (f"DVMap configuration error: specs/config.yaml (merged with --config/--configfile): survey_file: the path "
            f"{survey} holds {{v6}}, which Snakemake would read as a wildcard") in proc.stdout + proc.stderr


# ---- released splits: one option order per question, known questions -----------------------------------------
def release_rows(specs, attribute_names, n=6):
    country = specs["countries"]["countries"][0]
    rows = []
    for i in range(n):
        q = specs["questions"]["questions"][i % 2]
        profile = {a: f"label {i}" for a in attribute_names}
        profile["Country"] = country["name"]
        rows.append({"Q_id": q["id"], "Country": country["name"], **profile, "frequency": 1.0,
                     "Category": q["category"], "Question": q["text"], "Options": ", ".join(q["options"]),
                     "answer": q["options"][i % 3]})
    return pd.DataFrame(rows)


def to_samples(frame, specs, attribute_names, file="dev.parquet"):
    return release.release_to_samples(frame, attribute_names, specs["countries"]["countries"], file,
                                      specs["questions"]["questions"])


def test_options_in_another_order_name_the_rows(specs, attribute_names):
    frame = release_rows(specs, attribute_names)
    assert to_samples(frame, specs, attribute_names)["answer_index"].tolist() == [0, 1, 2, 0, 1, 2]
    q1 = specs["questions"]["questions"][0]
    frame.loc[[2, 4], "Options"] = ", ".join(reversed(q1["options"]))  # rows of Q1 listing its options reversed
    with pytest.raises(SurveyFileError) as err:
        to_samples(frame, specs, attribute_names)
    message = str(err.value)
    assert message.startswith("dev.parquet: column Options: 2 rows list options other than the questions spec's, in "
                              f"that order ({q1['id']}: 2); first: row 2 ({q1['id']}) has the same options in another "
                              "order")
    assert "rows [2, 4] differ" in message


def test_an_unknown_question_names_it_and_the_file(specs, attribute_names):
    frame = release_rows(specs, attribute_names)
    frame.loc[[3, 5], "Q_id"] = "Q999"
    with pytest.raises(SurveyFileError, match=r"cross_value.parquet: column Q_id: questions not in the questions spec: "
                                              r"Q999 \(2 rows, first row 3\)"):
        to_samples(frame, specs, attribute_names, "cross_value.parquet")


# ---- prompt templates -----------------------------------------------------------------------------------------------
def template_folder(tmp_path, user):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "user.j2").write_text(user)
    (folder / "system.j2").write_text("Answer.\n")
    return folder


def test_an_undefined_template_variable_is_named_before_any_prompt(tmp_path, specs, attribute_names):
    folder = template_folder(tmp_path, "You are {{ country }}.\nYou are {{ gendr }}.\n{{ question }}\n")
    specs["prompts"]["templates"] = {"mine": {"user": "user.j2", "system": "system.j2"}}
    expected = r"templates/user.j2, line 2: undefined variable 'gendr' \(the template is given country, gender, "
    with pytest.raises(SpecError, match=r"prompts.yaml: templates/mine/user: " + expected):
        configuration.check_template_variables(specs, {"prompts": "prompts.yaml"}, tmp_path)
    samples = to_samples(release_rows(specs, attribute_names), specs, attribute_names)
    with pytest.raises(prompts.TemplateError, match=expected):
        prompts.render_prompts(samples, attribute_names, {"user": "user.j2", "system": "system.j2"},
                               prompts.environment(folder))


def test_a_template_failing_while_rendering_names_file_and_line(tmp_path, specs, attribute_names):
    folder = template_folder(tmp_path, "{{ question }}\n\n{{ options.first }}\n")
    samples = to_samples(release_rows(specs, attribute_names), specs, attribute_names)
    with pytest.raises(prompts.TemplateError, match=r"templates/user.j2, line 3: UndefinedError: 'list object' has "
                                                    r"no attribute 'first'"):
        prompts.render_prompts(samples, attribute_names, {"user": "user.j2", "system": "system.j2"},
                               prompts.environment(folder))


@pytest.mark.parametrize("path", ["../specs/prompts.yaml", "/etc/hostname"])
def test_a_template_outside_the_templates_folder_is_refused(specs, path):
    spec = specs["prompts"]
    spec["templates"]["structured_cot"]["user"] = path
    with pytest.raises(SpecError, match=rf"prompts.yaml: templates/structured_cot/user: '{path}' points outside the "
                                        r"templates folder"):
        spec_module.check_prompts(spec, "prompts.yaml", ROOT)


# ---- an output folder that cannot be written -------------------------------------------------------------------------
def test_an_output_folder_that_is_a_file_is_named(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    target = tmp_path / "results" / "corpus" / "train.parquet"
    with pytest.raises(OutputError, match=rf"cannot write {target}: the folder {target.parent} is not writable here"):
        files.write_parquet(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(OutputError, match=r"the folder .*results/audit is not writable"):
        files.write_json({}, tmp_path / "results" / "audit" / "counts.json")


def test_a_permission_error_of_pyarrow_names_the_folder(tmp_path, monkeypatch, capsys):
    """Root writes anywhere, so the refusal of a folder is pyarrow's own error, raised here."""
    def refuse(self, path, **kwargs):
        raise PermissionError("Failed to open local file. Detail: [errno 13] Permission denied")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", refuse)
    target = tmp_path / "corpus" / "train.parquet"
    with pytest.raises(SystemExit) as exit_, files.logged(tmp_path / "job.log"):
        files.write_parquet(pd.DataFrame({"a": [1]}), target)
    assert str(exit_.value).startswith(f"ERROR: cannot write {target}: the folder {target.parent} is not writable here "
                                       "(Failed to open local file")
    assert "Traceback" not in capsys.readouterr().err


def test_a_log_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "logs").write_text("not a folder")
    with pytest.raises(SystemExit, match=r"ERROR: cannot write .*logs/job.log: the folder .*logs is not writable"):
        with files.logged(tmp_path / "logs" / "job.log"):
            pass


# ---- spec files: empty, alias bombs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("content", ["", "\n# nothing but a comment\n"], ids=["empty", "comment"])
def test_an_empty_spec_file_says_so(tmp_path, content):
    path = tmp_path / "filter.yaml"
    path.write_text(content)
    with pytest.raises(SpecError, match=r"filter.yaml: <root>: the file is empty \(or holds only comments\)"):
        spec_module.load_spec("filter", path)


def alias_bomb(levels, width=10):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "countries.yaml"
    path.write_text(alias_bomb(9))  # 10^9 nodes once expanded
    started = time.monotonic()
    with pytest.raises(SpecError, match=rf"countries.yaml: <root>: more than {spec_module.MAX_SPEC_NODES:,} YAML "
                                        r"nodes once its aliases \(\*name\) are expanded: refused"):
        spec_module.read_yaml(path)
    assert time.monotonic() - started < 5  # counted, never expanded (expanding takes hours)


def test_a_few_aliases_are_still_read(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(alias_bomb(3))  # 1,000 leaves: a spec may share a block by an alias
    data = spec_module.read_yaml(path)
    assert len(data["a2"]) == 10 and data["a2"][0][0] == ["x"] * 10


def test_shipped_specs_are_far_below_the_node_limit():
    """The limit leaves room: the largest shipped spec stays under a tenth of it."""
    import yaml

    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        node = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
        assert spec_module._expanded_size(node, spec_module.MAX_SPEC_NODES) < spec_module.MAX_SPEC_NODES / 10, path


def test_counts_report_keeps_its_contract_without_missing_records():
    data = pd.DataFrame({"profile_id": ["p1"], "country": ["USA"], "q_id": ["Q1"]})
    out = audit.counts_report({"train": data}, [])
    assert "missing_attribute_codes" not in out and out["corpus_samples"] == 1
    assert json.loads(json.dumps(out)) == out

"""Every malformed spec gives a SpecError naming the spec file and the key path."""
import copy

import pytest
import yaml

from dvmap.configuration import load_all
from dvmap.errors import SpecError
from dvmap.specs import ROOT, SPEC_KINDS, load_spec, read_yaml

DEFAULT_PATHS = {k: str(ROOT / v) for k, v in yaml.safe_load((ROOT / "specs/config.yaml").read_text())["specs"].items()}


def test_default_specs_load(monkeypatch):
    monkeypatch.chdir(ROOT)
    specs = load_all(DEFAULT_PATHS)
    assert set(specs) == set(SPEC_KINDS)
    assert len(specs["attributes"]["attributes"]) == 11
    roles = [c["role"] for c in specs["countries"]["countries"]]
    assert roles.count("train") == 10 and roles.count("cross_country") == 8
    qroles = [q["role"] for q in specs["questions"]["questions"]]
    assert qroles.count("train") == 16 and qroles.count("cross_value") == 7


def test_filter_defaults_applied(tmp_path):
    path = tmp_path / "filter.yaml"
    path.write_text("rule: majority\n")
    assert load_spec("filter", path) == {"max_entropy": None, "min_profile_size": 1, "use_weight": False, "rule": "majority"}


def mutate(kind, change):
    data = copy.deepcopy(read_yaml(DEFAULT_PATHS[kind]))
    change(data)
    return data


def set_in(path, value):
    def change(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def delete(path):
    def change(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


CASES = [
    # (kind, mutation, expected key path, expected message part)
    ("countries", set_in(["countries", 0, "iso3"], "usa"), "countries/0/iso3", "does not match"),
    ("countries", set_in(["countries", 1, "role"], "test"), "countries/1/role", "is not one of"),
    ("countries", set_in(["countries", 2, "iso_numeric"], 840), "countries/2/iso_numeric", "duplicate iso_numeric"),
    ("countries", delete(["countries", 0, "quadrant"]), "countries/0", "'quadrant' is a required property"),
    ("countries", set_in(["countries", 0, "colour"], "red"), "countries/0", "Additional properties"),
    ("attributes", set_in(["attributes", 8, "bins", 1, "lower"], 10), "attributes/8/bins/1", "overlaps"),
    ("attributes", set_in(["attributes", 1, "labels"], {"one": "Male"}), "attributes/1/labels", "does not match"),
    ("attributes", lambda d: d["attributes"].pop(), "attributes", "11 attributes"),
    ("attributes", set_in(["attributes", 2, "name"], "Gender"), "attributes/2/name", "duplicate name"),
    ("questions", set_in(["questions", 0, "codes", "4"], "Not important at all"), "questions/0/codes",
     "is not one of the options"),
    ("questions", lambda d: d["questions"][0]["codes"].pop("4"), "questions/0/codes", "reached by no code"),
    ("questions", set_in(["questions", 16, "neighbour"], "Q999"), "questions/16/neighbour", "not a training question"),
    ("questions", set_in(["questions", 3, "role"], "holdout"), "questions/3/role", "is not one of"),
    ("questions", set_in(["questions", 10, "bins", 2, "upper"], 3), "questions/10/bins/2", "lower 8 >= upper 3"),
    ("questions", set_in(["questions", 1, "options"], ["Yes, always", "No"]), "questions/1/options/0", "should not be valid"),
    ("splits", set_in(["corpus", "ratios", "dev"], 0.5), "corpus/ratios", "must sum to 1"),
    ("splits", set_in(["seed"], "forty-two"), "seed", "is not of type 'integer'"),
    ("splits", set_in(["cross_country", "profiles_per_country"], -3), "cross_country/profiles_per_country",
     "less than the minimum"),
    ("filter", set_in(["rule"], "strictest"), "rule", "is not one of"),
    ("filter", set_in(["rule"], "threshold"), "max_entropy", "is not of type 'number'"),
    ("filter", set_in(["max_entropy"], 0.5), "max_entropy", "only used with rule 'threshold'"),
    ("prompts", set_in(["templates", "structured_cot", "user"], "missing.j2"), "templates/structured_cot/user", "does not exist"),
    ("prompts", set_in(["exports", "verl", "templates"], ["nope"]), "exports/verl/templates/0", "unknown template"),
    ("models", set_in(["eval_models", "tiny-base", "protocol"], "fast"), "eval_models/tiny-base/protocol", "unknown protocol"),
    ("models", set_in(["comparisons", 0, 1], "nobody"), "comparisons/0", "unknown evaluated model 'nobody'"),
    ("models", set_in(["eval_models", "qwen3-8b-dvmap", "weights"], {"base_of": "qwen3-8b"}),
     "eval_models/qwen3-8b-dvmap/weights/base_of", "not a local model"),
    ("models", set_in(["models", "qwen3-8b", "resources", "gpus_per_node"], 0),
     "models/qwen3-8b/resources/gpus_per_node", "less than the minimum"),
    ("models", set_in(["reward", "variant"], "binary"), "reward/variant", "is not one of"),
]


@pytest.mark.parametrize("kind,change,key_path,message", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_malformed_spec_names_file_and_key(tmp_path, kind, change, key_path, message):
    path = tmp_path / f"bad_{kind}.yaml"
    path.write_text(yaml.safe_dump(mutate(kind, change), allow_unicode=True))
    with pytest.raises(SpecError) as err:
        load_spec(kind, path)
    assert err.value.file == str(path)
    assert err.value.key_path == key_path
    assert message in str(err.value)
    assert str(path) in str(err.value)


SYNTHETIC_CASES = [
    (set_in(["countries", 1, "iso_numeric"], 840), "countries/1/iso_numeric", "duplicate iso_numeric 840"),
    (delete(["loadings", "Q8"]), "loadings", "no loadings for question Q8"),
    (set_in(["shifts", "Religion", "Pastafarian"], [0.1, 0.1]), "shifts/Religion/Pastafarian", "is not a label of Religion"),
    (set_in(["attribute_overrides", "NGA", "Common Language", "Klingon"], 0.1),
     "attribute_overrides/NGA/Common Language/Klingon", "is not a label"),
    (set_in(["calibration"], "specs/nope.yaml"), "calibration", "not found"),
    (set_in(["profiles", "share_probability"], 1.5), "profiles/share_probability", "greater than the maximum"),
]


@pytest.mark.parametrize("change,key_path,message", SYNTHETIC_CASES, ids=[c[1] for c in SYNTHETIC_CASES])
def test_malformed_synthetic_spec(tmp_path, monkeypatch, change, key_path, message):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump(mutate("synthetic", change), allow_unicode=True))
    with pytest.raises(SpecError) as err:
        load_all({**DEFAULT_PATHS, "synthetic": str(path)})
    assert (err.value.file, err.value.key_path) == (str(path), key_path)
    assert message in str(err.value)


def test_study_country_missing_from_the_synthetic_file(tmp_path, monkeypatch):
    """The demo file holds its own countries (specs/synthetic.yaml), as a real file does: a study
    country it lacks is named before any job, with where to add it."""
    from dvmap.configuration import load_config

    monkeypatch.chdir(ROOT)
    countries = read_yaml(DEFAULT_PATHS["countries"])
    countries["countries"].append({"iso3": "FRA", "iso_numeric": 250, "name": "France",
                                   "quadrant": "secular/self_expression", "role": "cross_country"})
    path = tmp_path / "countries.yaml"
    path.write_text(yaml.safe_dump(countries, allow_unicode=True))
    config = {**read_yaml(ROOT / "specs/config.yaml")}
    config["specs"] = {**config["specs"], "countries": str(path)}
    with pytest.raises(SpecError) as err:
        load_config(config)
    assert (err.value.file, err.value.key_path) == (str(path), f"countries/{len(countries['countries']) - 1}")
    assert "FRA (250) is not in the synthetic survey file" in str(err.value) and "AND (20)" in str(err.value)
    # with a real survey file the file itself is checked when read, not the synthetic spec
    load_config({**config, "survey_file": "/data/wvs7.sav"})


def test_attribute_variable_reused_as_question(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "attributes.yaml"
    path.write_text(yaml.safe_dump(mutate("attributes", set_in(["attributes", 1, "wvs_var"], "Q1")), allow_unicode=True))
    with pytest.raises(SpecError, match=r"attributes/1/wvs_var: Q1 is also a question variable"):
        load_all({**DEFAULT_PATHS, "attributes": str(path)})


def test_unreadable_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "countries.yaml"
    bad.write_text("countries: [\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec("countries", bad)
    with pytest.raises(SpecError, match="file not found"):
        load_spec("countries", tmp_path / "absent.yaml")


def test_schema_and_defaults_agree():
    """Every key the default specs use is declared in its schema (additionalProperties: false)."""
    for kind in SPEC_KINDS:
        schema = read_yaml(ROOT / f"schemas/{kind}.schema.yaml")
        assert schema.get("additionalProperties") is False, kind
        data = read_yaml(DEFAULT_PATHS[kind])
        anchors = {k for k in data if k.startswith("x-")} if "patternProperties" in schema else set()
        declared = set(schema["properties"]) | anchors
        assert set(data) <= declared, (kind, set(data) - declared)


def test_config_schema_defaults_fill_a_partial_config():
    """rules/common.smk fills the top-level config's defaults with snakemake.utils.validate."""
    from snakemake.utils import validate

    config = read_yaml(ROOT / "specs/config.yaml")
    partial = {k: config[k] for k in ("train_models", "eval_models", "specs")}
    validate(partial, str(ROOT / "schemas/config.schema.yaml"), set_default=True)
    assert {k: partial[k] for k in ("survey_file", "synthetic_size", "data_source", "release_dir")} == {
        "survey_file": None, "synthetic_size": "demo", "data_source": "wvs", "release_dir": None}
    assert partial["eval_datasets"] == config["eval_datasets"]


def test_a_key_written_twice_is_an_error_naming_it(tmp_path):
    """Two rows of an ablation table under one name: YAML would keep the last silently."""
    path = tmp_path / "experiments.yaml"
    path.write_text("tables:\n  table3:\n    rows:\n      strict: {model: a}\n      strict: {model: b}\n")
    with pytest.raises(SpecError, match=r"key 'strict' is written twice in one mapping \(lines 4 and 5\)"):
        read_yaml(path)
    path.write_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")  # a merge key is no duplicate
    assert read_yaml(path)["other"] == {"x": 1, "y": 2}


def test_spec_text_holding_a_report_directive_is_refused(tmp_path):
    """Spec text reaches the report's tables as reStructuredText: `.. include::` would run there."""
    data = read_yaml(ROOT / "specs/questions.yaml")
    data["questions"][0]["text"] = "How important is family? .. include:: /etc/passwd"
    path = tmp_path / "questions.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(SpecError) as err:
        load_spec("questions", path)
    assert err.value.key_path == "questions/0/text" and ".. include::" in str(err.value)


def test_schema_defaults_are_filled_by_the_one_validator(tmp_path):
    """Every spec gets its schema defaults from one default-filling validator (dvmap.specs), at any
    depth, after the cross-field checks, which see what the file says; no code restates them."""
    from dvmap.specs import fill_defaults

    specs = load_all(DEFAULT_PATHS)
    assert {k: specs["filter"][k] for k in ("min_profile_size", "use_weight")} == {"min_profile_size": 1,
                                                                                   "use_weight": False}
    assert all("missing" in a for a in specs["attributes"]["attributes"])  # nested in a list's items
    embedding = specs["model_analyses"]["embedding"]
    assert (embedding["device"], embedding["dtype"], embedding["batch_size"]) == ("cpu", "float32", 16)
    assert all({"batch_size", "gpus", "runtime"} <= set(p) for p in specs["general_utility"]["pairs"].values())
    written = {"rule": "threshold", "max_entropy": 0.5, "use_weight": True}
    filled = fill_defaults(dict(written), "filter")
    assert filled == {**written, "min_profile_size": 1}  # what the file says is kept
    config = {"specs": {}, "train_models": [], "eval_models": []}
    assert fill_defaults(config, "config")["synthetic_size"] == "demo" and config["survey_file"] is None


def test_no_code_restates_a_schema_default():
    """A `.get("key", value)` with the value a schema gives that key as its default restates it (and
    drifts from it). Keys an eval model's spec leaves out (gpus, batch_size) have no schema default:
    the spec is part of its predictions' fingerprint, so filling keys in would regenerate paid ones."""
    import ast
    import re

    defaults: dict[str, list] = {}
    for schema in (ROOT / "schemas").glob("*.schema.yaml"):
        stack = [read_yaml(schema)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, sub in node.get("properties", {}).items():
                    if isinstance(sub, dict) and "default" in sub:
                        defaults.setdefault(key, []).append(sub["default"])
                stack += list(node.values())
            elif isinstance(node, list):
                stack += node
    restated = []
    for path in [*(ROOT / "dvmap").rglob("*.py"), *(ROOT / "scripts").rglob("*.py"), *(ROOT / "rules").rglob("*.smk")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for key, literal in re.findall(r'\.get\("(\w+)", ([^(),]+)\)', line):
                try:
                    value = ast.literal_eval(literal.strip())
                except (ValueError, SyntaxError):
                    continue  # not a literal: a computed default
                if value in defaults.get(key, []):
                    restated.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not restated, restated

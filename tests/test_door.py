"""Trust at the door (issue 23): one gate for config paths, one redactor for what is stored or
logged, escaping of report text, a bounded linear answer parser, and post-conditions on what a
job claims to have made. Each "What was found" item of the issue is a test here or in
tests/test_contracts.py (data contracts and generated hostile inputs)."""
import json
import re

import pytest
from conftest import snakemake
from test_endpoint_failures import KEY, SAMPLING, BodyServer, requests

from dvmap.errors import DVMapError
from dvmap.evaluate.backends import MAX_RESPONSE_CHARS, OpenAIBackend, generate_into, open_backend, record
from dvmap.evaluate.predictions import PredictionLog, predictions_frame
from dvmap.files import logged
from dvmap.gate import GateError, check_config, check_value
from dvmap.redact import add_secret, escape_report_text, redact, url_without_credentials
from dvmap.train.rewards import extract_answer


# ---- the gate ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/data/wvs7$(id>x).csv", "/data/wvs7`id`.csv", '/data/a".csv', "/data/a'.csv",
                                  "/data/a\\b.csv", "/data/a\nb.csv", "/data/wvs{v6}.sav", "/data/a\x00.csv"])
def test_the_gate_refuses_what_a_shell_or_snakemake_reinterprets(path):
    with pytest.raises(GateError, match="survey_file: the path"):
        check_value("survey_file", path)


@pytest.mark.parametrize("path", ["/data/WVS_Cross-National_Wave_7_spss_v6_0.sav", "/data/my survey (v6).csv",
                                  "relative/wvs7.dta", "/data/wvs7+2023.csv"])
def test_the_gate_takes_plain_paths(path):
    check_value("survey_file", path)


def test_the_gate_names_an_endpoint_and_spec_paths(specs, config):
    specs["models"]["eval_models"]["gpt-4o"]["endpoint"] = "https://api.example.com/v1$(id)"
    with pytest.raises(GateError, match=r"eval_models/gpt-4o/endpoint: the path"):
        check_config(config, specs)
    specs["models"]["eval_models"]["gpt-4o"]["endpoint"] = "https://api.example.com/v1"
    specs["models"]["eval_models"]["gpt-4o"]["weights"] = {"hub": "/models/qwen'; rm -rf ~'"}
    with pytest.raises(GateError, match=r"eval_models/gpt-4o/weights/hub: the path .* holds a quote"):
        check_config(config, specs)
    with pytest.raises(GateError, match=r"specs/claims: the path"):
        check_config({**config, "specs": {**config["specs"], "claims": "specs/`id`.yaml"}}, specs)


def test_values_the_data_source_ignores_and_empty_values_are_refused(specs, config):
    with pytest.raises(GateError, match=r"release_dir: set to '/data/release', but data_source is 'wvs', which "
                                        r"ignores it"):
        check_config({**config, "release_dir": "/data/release"}, specs)
    with pytest.raises(GateError, match=r"survey_file: set to '/data/w.sav', but data_source is 'release'"):
        check_config({**config, "data_source": "release", "release_dir": "/r", "survey_file": "/data/w.sav"}, specs)
    with pytest.raises(GateError, match=r"survey_file: the value is empty on the command line"):
        check_config(config, specs, ["survey_file="])
    with pytest.raises(GateError, match=r"release_dir: the value is empty"):
        check_config({**config, "data_source": "release", "release_dir": "  "}, specs)
    check_config(config, specs, ["survey_file=/data/w.sav", "synthetic_size=demo"])


@pytest.mark.parametrize("arg, message", [
    ("survey_file=/tmp/wvs7$(touch PWNED).csv", "holds a shell variable or command substitution"),
    ("survey_file=", "survey_file: the value is empty on the command line"),
    ("release_dir=/tmp", "release_dir: set to '/tmp', but data_source is 'wvs'"),
])
def test_the_gate_stops_snakemake_before_any_job(workflow, arg, message):
    """Found: a `$(...)` path ran a command on the SLURM submit host; `survey_file=` built the synthetic
    file; `release_dir` without data_source=release was ignored ("Nothing to be done")."""
    proc = snakemake(workflow, "-n", "data", "--config", arg, check=False)
    assert proc.returncode != 0
    assert "DVMap configuration error: " in proc.stderr + proc.stdout
    assert message in proc.stderr + proc.stdout
    assert not (workflow / "PWNED").exists()


# ---- the redactor --------------------------------------------------------------------------------------------------
def test_redact_removes_registered_secrets_and_url_credentials():
    add_secret("sk-door-test-0123456789")
    text = "key sk-door-test-0123456789 at http://user:pa55word@host:8000/v1 and https://plain.example/v1"
    assert redact(text) == "key *** at http://***@host:8000/v1 and https://plain.example/v1"
    assert url_without_credentials("https://u@h/v1") == "https://***@h/v1"
    assert redact(None) is None
    add_secret("ab")  # too short to be a key: never replaced everywhere
    assert redact("abc") == "abc"


def echo_server(content):
    """A chat endpoint whose 200 answer is content(authorization)."""
    def answer(sid, attempt, authorization):
        payload = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content(authorization)}}]}
        return 200, json.dumps(payload).encode(), {}
    return BodyServer(answer)


def test_a_key_echoed_in_a_served_answer_is_not_stored(tmp_path, monkeypatch):
    """Found: a server echoing the Authorization header in its 200 answer had the key written into
    the partial JSONL and the predictions parquet."""
    srv = echo_server(lambda auth: f"You sent {auth}. <answer>Yes</answer>")
    try:
        monkeypatch.setenv("DVMAP_DOOR_KEY", KEY)
        spec = {"engine": "openai", "endpoint": srv.url, "api_key_env": "DVMAP_DOOR_KEY"}
        store = PredictionLog(tmp_path / "partial.jsonl")
        with open_backend(spec, "m", SAMPLING) as backend:
            generate_into(store, backend, requests(4))
        frame = predictions_frame([f"s{i}" for i in range(4)], store.load())
        frame.to_parquet(tmp_path / "p.parquet")
        assert KEY not in store.path.read_text() and KEY.encode() not in (tmp_path / "p.parquet").read_bytes()
        assert set(frame["status"]) == {"ok"} and "You sent Bearer ***." in frame["response"].iloc[0]
    finally:
        srv.httpd.shutdown()


def test_url_credentials_never_reach_a_log_or_an_error(tmp_path, capsys):
    """Found: an endpoint http://user:password@host/v1 was written with its password to the
    generation log and Snakemake's log."""
    srv = BodyServer(lambda sid, attempt, auth: (401, b'{"error": {"message": "no"}}', {}))
    try:
        url = srv.url.replace("http://", "http://user:s3cretpass@")
        log_file = tmp_path / "generate.log"
        with pytest.raises(SystemExit) as exit_, logged(log_file) as log:
            log.info("endpoint %s", url)
            generate_into(PredictionLog(tmp_path / "p.jsonl"), OpenAIBackend(url, "m", SAMPLING), requests(12))
        for where, text in {"log": log_file.read_text(), "error": str(exit_.value),
                            "stderr": capsys.readouterr().err, "records": (tmp_path / "p.jsonl").read_text()}.items():
            assert "s3cretpass" not in text, where
        assert "http://***@127.0.0.1" in log_file.read_text()
    finally:
        srv.httpd.shutdown()


# ---- report text --------------------------------------------------------------------------------------------------
HOSTILE = ".. raw:: html\n\n   <img src=x onerror=alert(1)>\n\n.. include:: /etc/passwd\n`x <javascript:alert(1)>`_"


def render_cell(text):
    import csv
    import io

    from docutils.core import publish_parts

    buf = io.StringIO()
    csv.writer(buf).writerows([["text"], [text]])
    rst = ".. csv-table::\n   :header-rows: 1\n\n" + "".join(f"   {line}\n" for line in buf.getvalue().splitlines())
    # raw on, as without docutils.conf: the escaping alone must make the text inert
    return publish_parts(rst, writer="html", settings_overrides={"report_level": 5, "raw_enabled": True})["body"]


def test_escaped_report_text_renders_as_plain_text():
    """Found: a claim text holding `.. raw:: html` and `<img src=x onerror=...>` was embedded unescaped
    in report.html. escape_report_text is what a writer of report text (claims, captions) calls."""
    html = render_cell(escape_report_text(HOSTILE))
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "root:" not in html and 'href="javascript' not in html
    assert "raw:: html" in html  # shown, not run
    assert escape_report_text("Table 2: acc > 0.5 (n = 3)") == r"Table 2\: acc \> 0\.5 \(n \= 3\)"


def test_the_report_disables_raw_html(tmp_path, monkeypatch):
    """docutils.conf beside the Snakefile turns the raw directive off for `snakemake --report`."""
    from pathlib import Path

    from docutils.core import publish_parts

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    html = publish_parts(".. raw:: html\n\n   <img src=x onerror=alert(1)>\n", writer="html",
                         settings_overrides={"report_level": 5})["body"]
    assert "<img" not in html


# ---- the answer parser ---------------------------------------------------------------------------------------------
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def regex_answer(text):
    found = ANSWER_RE.findall(text)
    answer = found[-1].strip() if found else None
    return None if answer in ("", "...") else answer


def test_the_linear_parser_agrees_with_the_regex_rule():
    import random

    rng = random.Random(23)
    pieces = ["<answer>", "</answer>", "Yes", "No", " ", "...", "<answer", "</answer", "\n"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert extract_answer(text) == regex_answer(text), text


def test_a_huge_answer_is_bounded_before_parsing():
    """Found: `<answer>` repeated 30,000 times (240 KB) took quadratic time to parse."""
    req = requests(1)[0]
    assert extract_answer("<answer>" * 30_000) is None  # one pass; the regex took seconds here
    rec = record(req, "<answer>Yes</answer>" + "x" * MAX_RESPONSE_CHARS)
    assert rec["status"] == "parse_error" and len(rec["response"]) == MAX_RESPONSE_CHARS
    assert f"over the bound of {MAX_RESPONSE_CHARS}" in rec["error"]
    assert record(req, "<answer>Yes</answer>")["status"] == "ok"


# ---- post-conditions on what a job claims to have made -------------------------------------------------------------
def test_training_without_dev_rows_fails_before_training():
    """Found: `splits: {dev: 0.0}` trained, found no dev rows, kept the step-0 weights (selected_dev_accuracy
    NaN) and ended 0 with the base model under the DVMap name."""
    import pandas as pd

    from dvmap.train.local import check_selection, grpo_train

    with pytest.raises(DVMapError, match=r"the dev split has 0 samples \(train has 3\)"):
        grpo_train("unused", pd.DataFrame({"a": [1, 2, 3]}), pd.DataFrame(), {"grpo": {}}, "out", "ckpt")
    nan = {"accuracy": float("nan"), "valid": float("nan")}
    with pytest.raises(DVMapError, match="never evaluated on dev after step 0"):
        check_selection([{"step": 0, "dev": nan}], 0.5, 40)
    with pytest.raises(DVMapError, match=r"selected step 0 with dev accuracy nan"):
        check_selection([{"step": 0, "dev": nan}, {"step": 20, "dev": nan}], 0.5, 40)
    good = [{"step": 0, "dev": {"accuracy": 0.2, "valid": 1.0}}, {"step": 20, "dev": {"accuracy": 0.4, "valid": 1.0}}]
    assert check_selection(good, 0.5, 40) == (20, 0.4)


def pools_case(**change):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_splits_audit import COUNTRIES, QUESTIONS, SPEC, make_archetypes

    spec = {**SPEC, **change}
    return make_archetypes(), COUNTRIES, QUESTIONS, spec


@pytest.mark.parametrize("change, message", [
    ({"cross_demographic": {"profiles_per_country": 0}}, r"USA: the splits spec asks 0 profiles per country for "
                                                         r"cross_demographic"),
    ({"corpus": {"profiles_per_country": 20, "ratios": {"train": 0.8, "dev": 0.0, "test": 0.2}}},
     r"corpus ratio of dev is 0"),
])
def test_empty_pools_are_named_with_their_numbers(change, message):
    """Found: profiles_per_country: 0 gave warnings, then `max() arg is an empty sequence` in tables.py."""
    from dvmap.data import splits

    (arche, profiles), countries, questions, spec = pools_case(**change)
    with pytest.raises(DVMapError, match=message):
        splits.build_datasets(arche, profiles, countries, questions, ["Country", "Gender"], spec)


def test_a_country_left_with_no_profile_and_an_empty_dataset_are_named():
    """Found: min_profile_size 100000 kept nothing: warnings, then a traceback in tables.py."""
    from dvmap.data import splits

    (arche, profiles), countries, questions, spec = pools_case()
    arche = arche.assign(kept=False)
    with pytest.raises(DVMapError, match=r"USA: the country is left with 0 profiles: none of its 60 profiles has a kept "
                                         r"training question .* 0 of 540 rows are"):
        splits.build_datasets(arche, profiles, countries, questions, ["Country", "Gender"], spec)
    import pandas as pd

    pools = pd.DataFrame({"profile_id": ["pUSA000", "pDEU001"], "dataset": ["cross_value", "cross_value"]})
    with pytest.raises(DVMapError, match=r"cross_value: 0 samples: 2 profiles were drawn for it \(\{'DEU': 1, 'USA': 1\}"):
        splits.check_not_empty({"cross_value": pd.DataFrame()}, pools, arche)


def test_a_table_from_zero_samples_fails_naming_the_score():
    """Found: a benchmark with 0 rows ended in `max() arg is an empty sequence` in tables.py."""
    from dvmap.evaluate.tables import aggregate_scores

    with pytest.raises(DVMapError, match=r"scores of tiny-base on cross_value \(structured_cot\): n = 0 samples"):
        aggregate_scores([{"model": "tiny-base", "dataset": "cross_value", "template": "structured_cot", "n": 0}])

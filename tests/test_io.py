"""Every failure reaches the rule's log file: the kit's own errors as one line, anything else with
its traceback."""
import pytest

from dvmap.errors import DVMapError
from dvmap.files import logged


def test_unexpected_exception_traceback_reaches_the_log(tmp_path):
    log = tmp_path / "logs/rule.log"
    with pytest.raises(ZeroDivisionError):
        with logged(log):
            _ = 1 / 0
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError" in text


def test_kit_error_is_one_line_and_exits(tmp_path):
    log = tmp_path / "rule.log"
    with pytest.raises(SystemExit, match="ERROR: specs/x.yaml: bad"):
        with logged(log):
            raise DVMapError("specs/x.yaml: bad")
    assert "specs/x.yaml: bad" in log.read_text() and "Traceback" not in log.read_text()

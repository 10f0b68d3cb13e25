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


def test_a_child_process_output_in_the_log_survives_a_later_traceback(tmp_path):
    """train_verl and generate let verl / a vLLM server write into the rule's log: what the kit logs
    afterwards (the failure) is appended, never written over the start of that output."""
    log = tmp_path / "rule.log"
    log.write_text("a previous run\n")
    with pytest.raises(RuntimeError):
        with logged(log) as logger, open(log, "a") as child:
            logger.info("running: verl")
            child.write("verl's first line\n" + "verl's output\n" * 50)
            child.flush()
            raise RuntimeError("verl failed")
    text = log.read_text()
    assert "a previous run" not in text
    assert text.index("running: verl") < text.index("verl's first line") < text.index("RuntimeError: verl failed")
    assert text.count("verl's output") == 50

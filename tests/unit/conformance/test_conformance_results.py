"""The conformance runner's offline pieces: the expected file, JUnit reading, the diff.

``conformance/`` is a directory of scripts next to the package, not part of
the installed ``objstore``, so the repository root is put on the path here.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from conformance.expected import (ExpectedFileError, compare,  # noqa: E402
                                  format_comparison, parse_expected)
from conformance.junit import NoResults, case_id, read_outcomes, read_report, tally  # noqa: E402

EXPECTED = """\
# comment lines and blank lines are ignored

reason: COPY ignores Range
test_object.py::TestObject::test_copy_range
tests.py::TestFile::testCopyRange

reason:   storage policies (helper policies)
  test_container.py::TestContainer::test_policy
"""

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="test.functional.tests.TestFile" name="testCopyRange">
  <failure message="AssertionError">boom</failure></testcase>
<testcase classname="test.functional.test_object.TestObject" name="test_copy_range"/>
<testcase classname="test.functional.test_object.TestObject" name="test_plain"/>
<testcase classname="test.functional.test_object.TestObject" name="test_new_bug">
  <error message="setup">boom</error></testcase>
<testcase classname="test.functional.test_object.TestObject" name="test_skipped">
  <skipped message="no">x</skipped></testcase>
<testcase classname="test.functional.test_object.TestObject" name="test_teardown">
</testcase>
<testcase classname="test.functional.test_object.TestObject" name="test_teardown">
  <error message="teardown">boom</error></testcase>
<testcase classname="" name="test.functional.test_dlo">
  <error message="collection failure">ImportError</error></testcase>
</testsuite></testsuites>
"""


def test_parse_groups_tests_under_their_reason():
    expected = parse_expected(EXPECTED)
    assert expected == {
        "test_object.py::TestObject::test_copy_range": "COPY ignores Range",
        "tests.py::TestFile::testCopyRange": "COPY ignores Range",
        "test_container.py::TestContainer::test_policy": "storage policies (helper policies)",
    }


@pytest.mark.parametrize("text, complaint", [
    ("tests.py::TestFile::testX\n", "before any 'reason:'"),
    ("reason:\ntests.py::TestFile::testX\n", "empty reason"),
    ("reason: r\ntests.py::TestFile::testX\nreason: s\ntests.py::TestFile::testX\n",
     "listed twice"),
    ("reason: r\nnot a test id\n", "not a test id"),
])
def test_parse_refuses_malformed_files_naming_the_line(text, complaint):
    with pytest.raises(ExpectedFileError, match=complaint) as raised:
        parse_expected(text, "exp.txt")
    assert "exp.txt:" in str(raised.value)


def test_checked_in_expected_file_parses():
    path = Path(__file__).resolve().parents[3] / "conformance" / "expected.txt"
    for test, reason in parse_expected(path.read_text(encoding="utf-8")).items():
        assert test.split("::")[0].endswith(".py") and reason


def test_junit_outcomes_and_ids():
    outcomes = read_outcomes(JUNIT)
    assert outcomes == {
        "tests.py::TestFile::testCopyRange": "fail",
        "test_object.py::TestObject::test_copy_range": "pass",
        "test_object.py::TestObject::test_plain": "pass",
        "test_object.py::TestObject::test_new_bug": "fail",
        "test_object.py::TestObject::test_skipped": "skip",
        # the passing call and the failing teardown: the failure wins
        "test_object.py::TestObject::test_teardown": "fail",
        "test_dlo.py::<collection>": "fail",
    }
    counts = tally(outcomes)
    assert counts["test_object.py"] == {"pass": 2, "fail": 2, "skip": 1}
    assert counts["tests.py"] == {"fail": 1}


def test_id_of_a_module_level_test():
    assert case_id("test.functional.test_protocol", "test_x") == "test_protocol.py::test_x"
    assert case_id("test.functional.s3api.test_bucket.TestS3ApiBucket", "test_x") == \
        "s3api/test_bucket.py::TestS3ApiBucket::test_x"


def test_compare_reports_only_changes_for_the_modules_run():
    expected = parse_expected(EXPECTED + "reason: absent\ntests.py::TestFile::testGone\n")
    outcomes = read_outcomes(JUNIT)
    result = compare(outcomes, expected, ["tests.py", "test_object.py", "test_dlo.py"])
    assert result.new_failures == ["test_dlo.py::<collection>",
                                   "test_object.py::TestObject::test_new_bug",
                                   "test_object.py::TestObject::test_teardown"]
    assert result.new_passes == [("test_object.py::TestObject::test_copy_range",
                                  "COPY ignores Range")]
    assert result.still_failing == [("tests.py::TestFile::testCopyRange", "COPY ignores Range")]
    assert result.missing == [("tests.py::TestFile::testGone", "absent")]
    # test_container.py did not run: its expected failure is neither missing nor passing
    assert "test_container.py" not in format_comparison(result)
    assert not result.clean
    report = format_comparison(result)
    assert "FAIL test_object.py::TestObject::test_new_bug" in report
    assert "PASS test_object.py::TestObject::test_copy_range  (was: COPY ignores Range)" in report
    assert "GONE tests.py::TestFile::testGone" in report


def test_compare_is_clean_when_the_run_matches():
    outcomes = {"tests.py::TestFile::testCopyRange": "fail",
                "tests.py::TestFile::testOther": "pass",
                "tests.py::TestFile::testSkipped": "skip"}
    expected = {"tests.py::TestFile::testCopyRange": "COPY ignores Range"}
    result = compare(outcomes, expected, ["tests.py"])
    assert result.clean
    assert result.still_failing == [("tests.py::TestFile::testCopyRange", "COPY ignores Range")]


def test_report_of_a_run_that_wrote_nothing_is_one_line_reason(tmp_path):
    with pytest.raises(NoResults) as caught:
        read_report(tmp_path / "junit.xml", -9)
    message = str(caught.value)
    assert "\n" not in message
    assert "status -9" in message and "no JUnit report" in message


def test_report_cut_short_is_one_line_reason(tmp_path):
    half = tmp_path / "junit.xml"
    half.write_text(JUNIT[:120], encoding="utf-8")
    with pytest.raises(NoResults) as caught:
        read_report(half, 1)
    assert "unreadable JUnit report" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_report_of_a_finished_run_is_read(tmp_path):
    whole = tmp_path / "junit.xml"
    whole.write_text(JUNIT, encoding="utf-8")
    assert read_report(whole, 1) == read_outcomes(JUNIT)

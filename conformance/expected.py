"""The checked-in list of Swift tests expected to fail, and the comparison with a run.

File format (``conformance/expected.txt``)::

    # a comment; blank lines are ignored
    reason: COPY ignores Range
    test_object.py::TestObject::test_copy_range
    tests.py::TestFile::testCopyRange

    reason: storage policies (helper policies)
    test_container.py::TestContainer::test_policy

Every test id belongs to the ``reason:`` line above it, so failures that
share a cause are grouped under one true sentence.  A test listed twice or
before any reason is an error: the file must say exactly one thing about
each test.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

from conformance.junit import FAILED, PASSED, SKIPPED, module_of

REASON_PREFIX = "reason:"


class ExpectedFileError(ValueError):
    """The expected-results file is malformed; the message names the line."""


def parse_expected(text: str, source: str = "expected.txt") -> dict[str, str]:
    """{test id: reason} from the file's text."""
    expected: dict[str, str] = {}
    reason = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = "%s:%d" % (source, number)
        if line.startswith(REASON_PREFIX):
            reason = line[len(REASON_PREFIX):].strip()
            if not reason:
                raise ExpectedFileError("%s: empty reason" % where)
            continue
        if reason is None:
            raise ExpectedFileError("%s: test %r comes before any 'reason:' line"
                                    % (where, line))
        if " " in line or "::" not in line:
            raise ExpectedFileError("%s: %r is not a test id (module.py::Class::test)"
                                    % (where, line))
        if line in expected:
            raise ExpectedFileError("%s: %s is listed twice" % (where, line))
        expected[line] = reason
    return expected


@dataclasses.dataclass
class Comparison:
    """How a run differs from the expected file, restricted to the modules that ran."""
    new_failures: list[str]
    new_passes: list[tuple[str, str]]
    still_failing: list[tuple[str, str]]
    skipped_expected: list[tuple[str, str]]
    missing: list[tuple[str, str]]

    @property
    def clean(self) -> bool:
        """True when the run matches the file: no new failure, no new pass, nothing missing."""
        return not (self.new_failures or self.new_passes or self.missing)


def compare(outcomes: dict[str, str], expected: dict[str, str],
            modules_run: Iterable[str]) -> Comparison:
    """Compare one run's {test: outcome} with the expected failures.

    Expected failures in modules that were not run are ignored, so running
    one module does not report the others as missing.
    """
    ran = set(modules_run)
    new_failures = sorted(test for test, outcome in outcomes.items()
                          if outcome == FAILED and test not in expected)
    new_passes, still_failing, skipped_expected, missing = [], [], [], []
    for test in sorted(expected):
        if module_of(test) not in ran:
            continue
        outcome = outcomes.get(test)
        pair = (test, expected[test])
        if outcome is None:
            missing.append(pair)
        elif outcome == PASSED:
            new_passes.append(pair)
        elif outcome == SKIPPED:
            skipped_expected.append(pair)
        else:
            still_failing.append(pair)
    return Comparison(new_failures, new_passes, still_failing, skipped_expected, missing)


def format_comparison(result: Comparison) -> str:
    """The report printed after the per-module table."""
    lines = ["expected failures still failing: %d" % len(result.still_failing)]
    lines.append("new failures (not in the expected file): %d" % len(result.new_failures))
    lines.extend("  FAIL %s" % test for test in result.new_failures)
    lines.append("new passes (listed as expected to fail): %d" % len(result.new_passes))
    lines.extend("  PASS %s  (was: %s)" % pair for pair in result.new_passes)
    if result.skipped_expected:
        lines.append("listed as failing but skipped in this run: %d" % len(result.skipped_expected))
        lines.extend("  SKIP %s  (%s)" % pair for pair in result.skipped_expected)
    if result.missing:
        lines.append("listed but not found in this run (renamed or removed?): %d"
                     % len(result.missing))
        lines.extend("  GONE %s" % test for test, _ in result.missing)
    return "\n".join(lines)

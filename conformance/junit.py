"""Read pytest's JUnit XML into one outcome per test.

Swift's functional tests are run by pytest in a separate virtualenv; the
XML report is the one thing that crosses back, so this module is the whole
interface between that run and the comparison.
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path
from typing import Iterable

PASSED, FAILED, SKIPPED = "pass", "fail", "skip"
TEST_PACKAGE = "test.functional."
COLLECTION = "<collection>"


def case_id(classname: str, name: str) -> str:
    """``test.functional.test_object.TestObject`` + ``test_x`` -> ``test_object.py::TestObject::test_x``
    (``test.functional.s3api.test_bucket.T`` -> ``s3api/test_bucket.py::T::...``).

    The id names the module by its file, as ``--modules`` does, so a line of
    the expected file can be pasted into a pytest command in Swift's tree.
    """
    if not classname and name.startswith(TEST_PACKAGE):
        # A module that failed to import: pytest names only the module.
        classname, name = name, COLLECTION
    dotted = classname[len(TEST_PACKAGE):] if classname.startswith(TEST_PACKAGE) else classname
    # The module may sit in a package (s3api.test_bucket): it is the first
    # dotted part named test*, with the packages before it as folders.
    pieces = dotted.split(".")
    index = next((i for i, piece in enumerate(pieces) if piece.startswith("test")), 0)
    module, klass = "/".join(pieces[:index + 1]), ".".join(pieces[index + 1:])
    parts = [module + ".py"] + ([klass] if klass else []) + [name]
    return "::".join(parts)


def module_of(test: str) -> str:
    return test.split("::", 1)[0]


class NoResults(Exception):
    """The pytest run left no report to read; the message is one line for the user."""


def read_report(path: Path, returncode: int) -> dict[str, str]:
    """Outcomes from the JUnit file a pytest run wrote, or NoResults saying why there are none.

    A pytest that is killed, or that fails before collecting (a broken
    virtualenv, a bad option), writes no report or half of one; the runner
    must then say so in a line rather than end in a traceback.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NoResults("pytest exited with status %d and wrote no JUnit report (%s)"
                        % (returncode, path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise NoResults("cannot read pytest's JUnit report %s: %s" % (path, err)) from None
    try:
        return read_outcomes(text)
    except ElementTree.ParseError as err:
        raise NoResults("pytest exited with status %d and left an unreadable JUnit report "
                        "(%s: %s)" % (returncode, path, err)) from None


def read_outcomes(xml_text: str) -> dict[str, str]:
    """{test id: pass|fail|skip}; an error in setup or teardown counts as a failure."""
    root = ElementTree.fromstring(xml_text)
    outcomes: dict[str, str] = {}
    for case in root.iter("testcase"):
        test = case_id(case.get("classname", ""), case.get("name", ""))
        children = {child.tag for child in case}
        if children & {"failure", "error"}:
            outcome = FAILED
        elif "skipped" in children:
            outcome = SKIPPED
        else:
            outcome = PASSED
        # pytest reports a teardown error as a second <testcase> with the
        # same name: the worse outcome wins.
        if outcomes.get(test) != FAILED:
            outcomes[test] = outcome
    return outcomes


def tally(outcomes: dict[str, str]) -> dict[str, Counter]:
    """{module file: Counter(pass=.., fail=.., skip=..)}, modules sorted by name."""
    per_module: dict[str, Counter] = {}
    for test in sorted(outcomes):
        per_module.setdefault(module_of(test), Counter())[outcomes[test]] += 1
    return per_module


def format_tally(per_module: dict[str, Counter], modules: Iterable[str] = ()) -> str:
    """A small table: one row per module and a total row."""
    rows = ["%-28s %6s %6s %6s" % ("module", PASSED, FAILED, SKIPPED)]
    total: Counter = Counter()
    for module in sorted(set(per_module) | set(modules)):
        counts = per_module.get(module, Counter())
        total.update(counts)
        rows.append("%-28s %6d %6d %6d" % (module, counts[PASSED], counts[FAILED],
                                           counts[SKIPPED]))
    rows.append("%-28s %6d %6d %6d" % ("total", total[PASSED], total[FAILED], total[SKIPPED]))
    return "\n".join(rows)

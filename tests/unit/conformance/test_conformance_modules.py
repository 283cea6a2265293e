"""Module names on the runner's command line: names as given, quoted patterns expanded."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from conformance.run import expand_modules  # noqa: E402

AVAILABLE = ["s3api/test_bucket.py", "s3api/test_object.py", "test_object.py", "tests.py"]


def test_a_pattern_stands_for_its_matches_in_order():
    assert expand_modules(["s3api/test_*.py"], AVAILABLE) == [
        "s3api/test_bucket.py", "s3api/test_object.py"]


def test_plain_names_stay_and_repeats_collapse():
    assert expand_modules(["tests.py", "s3api/test_o*.py", "s3api/test_object.py"],
                          AVAILABLE) == ["tests.py", "s3api/test_object.py"]


def test_a_pattern_matching_nothing_stays_to_be_reported():
    assert expand_modules(["test_nope*.py", "test_missing.py"], AVAILABLE) == [
        "test_nope*.py", "test_missing.py"]

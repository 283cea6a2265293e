"""Names in the expiring-objects queue: buckets and rows sort and parse back."""
import pytest

from objstore.common.expiring_queue import (bucket_is_due, parse_queue_row, queue_container,
                                            queue_row)


def test_bucket_rounds_down_to_the_divisor():
    assert queue_container(1700000123) == "1699920000"
    assert queue_container(1700000123, 3600) == "1699999200"
    assert queue_container(59, 60) == "0000000000"
    with pytest.raises(ValueError):
        queue_container(5, 0)


def test_row_names_parse_back_and_sort_by_expiry():
    name = queue_row(1700000123, "AUTH_a", "c", "dir/o b\u00e9")
    assert name == "1700000123-AUTH_a/c/dir/o b\u00e9"
    row = parse_queue_row(name)
    assert (row.delete_at, row.account, row.container, row.obj) == (
        1700000123, "AUTH_a", "c", "dir/o b\u00e9")
    assert row.delete_at_header == "1700000123"
    # ten digits: an earlier expiry always lists first
    assert queue_row(999999999, "a", "c", "o") < queue_row(1000000000, "a", "c", "o")


@pytest.mark.parametrize("name", ["", "x-a/c/o", "123", "123-a/c", "123-a//o", "123-/c/o"])
def test_foreign_row_names_are_refused(name):
    with pytest.raises(ValueError):
        parse_queue_row(name)


def test_bucket_is_due():
    assert bucket_is_due("1699920000", 1700000000)
    assert not bucket_is_due("1700006400", 1700000000)
    assert not bucket_is_due("garbage", 1700000000)

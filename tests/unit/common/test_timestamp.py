import pytest

from objstore.common.timestamp import InvalidTimestamp, Timestamp, last_modified_date_to_timestamp


def test_normal_form_is_ten_digits_and_five_decimals():
    assert Timestamp("1392683866.17952").normal == "1392683866.17952"
    assert Timestamp(1.5).normal == "0000000001.50000"
    assert Timestamp("1392683866.179526").normal == "1392683866.17953"  # rounds to the tick


def test_offset_orders_after_the_same_time():
    base = Timestamp("1392683866.17952")
    later = Timestamp(base, offset=1)
    assert later.internal == "1392683866.17952_0000000000000001"
    assert later > base
    assert Timestamp(later.internal) == later
    assert Timestamp(base.internal) == base


def test_comparisons_with_strings_and_floats():
    t = Timestamp("100.00001")
    assert t > "100"
    assert t < 100.00002
    assert t == "100.00001"
    assert sorted([Timestamp(3), Timestamp(1), Timestamp(2)])[0] == Timestamp(1)
    assert len({Timestamp("1.0"), Timestamp(1)}) == 1


def test_delta_adds_ticks():
    assert Timestamp(1, delta=1).normal == "0000000001.00001"


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1.2.3", "1_zz", "nan", "inf"])
def test_bad_values_raise(bad):
    with pytest.raises(InvalidTimestamp):
        Timestamp(bad)


def test_http_date_rounds_up_and_iso_roundtrip():
    t = Timestamp("1392683866.17952")
    assert t.http_date == "Tue, 18 Feb 2014 00:37:47 GMT"
    assert t.iso8601 == "2014-02-18T00:37:46.179520"
    assert last_modified_date_to_timestamp(t.iso8601) == t


def test_now_is_recent():
    import time
    assert abs(Timestamp.now().seconds - time.time()) < 5

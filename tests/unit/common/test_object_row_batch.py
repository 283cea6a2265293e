"""The UPDATE body: rows checked as strictly as a single update's headers."""
import json

import pytest

from objstore.common.object_row_batch import (MAX_BATCH_BYTES, MAX_BATCH_ROWS, BadRowBatch,
                                              RowSection, encode_row_batch, encode_section_statuses,
                                              encode_sections, object_row, parse_row_batch,
                                              parse_section_statuses, parse_sections)
from objstore.common.timestamp import Timestamp

TS = Timestamp(1700000000.5).internal


def parse(rows, allow_nul=False, body=None):
    return parse_row_batch(encode_row_batch(rows) if body is None else body, 1024, allow_nul,
                           lambda index: index in (0, 1))


def test_live_and_deleted_rows_round_trip():
    rows = [object_row("a/ü", TS, False, 1, 12, "text/plain; charset=utf-8", "e" * 32),
            object_row("b", TS, True, 0)]
    assert parse(rows) == [
        {"name": "a/ü", "created_at": TS, "deleted": 0, "storage_policy_index": 1,
         "size": 12, "content_type": "text/plain; charset=utf-8", "etag": "e" * 32},
        {"name": "b", "created_at": TS, "deleted": 1, "storage_policy_index": 0,
         "size": 0, "content_type": "", "etag": ""}]


def test_a_timestamp_is_normalised():
    assert parse([object_row("a", "1700000000.5", True, 0)])[0]["created_at"] == TS


def good():
    return object_row("a", TS, False, 0, 1, "text/plain", "e")


@pytest.mark.parametrize("change, reason", [
    ({"name": ""}, "needs a name"), ({"name": 5}, "needs a name"),
    ({"name": "x" * 1025}, "too long"), ({"name": "a\x00b"}, "NUL"),
    ({"name": "\udce9"}, "not UTF-8"),
    ({"created_at": "yesterday"}, "timestamp"), ({"created_at": 5}, "timestamp"),
    ({"deleted": 2}, "deleted"), ({"deleted": True}, "deleted"), ({"deleted": "0"}, "deleted"),
    ({"size": -1}, "size"), ({"size": 1.5}, "size"), ({"size": "1"}, "size"),
    ({"size": 1 << 63}, "size"), ({"content_type": None}, "content_type"),
    ({"etag": 5}, "etag"), ({"storage_policy_index": 7}, "Unknown storage policy"),
    ({"storage_policy_index": "0"}, "storage_policy_index"),
])
def test_a_bad_row_is_refused_with_its_reason(change, reason):
    row = dict(good(), **change)
    with pytest.raises(BadRowBatch, match=reason):
        parse_row_batch(json.dumps([row]).encode("utf-8", "surrogatepass"), 1024, False,
                        lambda index: index == 0)


def test_a_missing_field_is_refused():
    for field in ("created_at", "deleted", "storage_policy_index", "size", "content_type",
                  "etag"):
        row = good()
        del row[field]
        with pytest.raises(BadRowBatch):
            parse([row])


def test_nul_is_allowed_only_in_the_reserved_namespace():
    assert parse([object_row("\x00v\x00a", TS, True, 0)], allow_nul=True)[0]["name"] == \
        "\x00v\x00a"


@pytest.mark.parametrize("body, reason", [
    (b"", "not JSON"), (b"{", "not JSON"), (b"\xff", "not JSON"), (b"{}", "list"),
    (b"[]", "non-empty"), (b"[1]", "JSON object"), (b"[[]]", "JSON object"),
    (b"[" * 100000 + b"]" * 100000, "not JSON|non-empty|JSON object"),
])
def test_a_bad_body_is_refused(body, reason):
    with pytest.raises(BadRowBatch, match=reason):
        parse(None, body=body)


def test_batches_are_bounded():
    with pytest.raises(BadRowBatch, match="More than"):
        parse([good()] * (MAX_BATCH_ROWS + 1))
    with pytest.raises(BadRowBatch, match="larger than"):
        parse(None, body=b" " * (MAX_BATCH_BYTES + 1))


# -- sections: several containers' rows for one device -------------------------

def parse_sections_body(sections, allow_nul=False, body=None):
    return parse_sections(encode_sections(sections) if body is None else body, 1024,
                          allow_nul, lambda index: index in (0, 1))


def test_sections_round_trip_with_their_rows_checked():
    sections = [RowSection("7", "AUTH_a", "cü", [good()]),
                RowSection("12", "AUTH_b", "d", [object_row("x", "1700000000.5", True, 1)])]
    parsed = parse_sections_body(sections)
    assert [(s.partition, s.account, s.container) for s in parsed] == [
        ("7", "AUTH_a", "cü"), ("12", "AUTH_b", "d")]
    assert parsed[0].rows == parse([good()])
    assert parsed[1].rows[0]["created_at"] == TS


def section(**change):
    fields = {"partition": "1", "account": "AUTH_a", "container": "c", "rows": [good()]}
    fields.update(change)
    return fields


@pytest.mark.parametrize("change, reason", [
    ({"partition": 1}, "partition"), ({"partition": "x"}, "partition"),
    ({"partition": "-1"}, "partition"), ({"partition": "١"}, "partition"),
    ({"account": ""}, "account"), ({"account": None}, "account"),
    ({"account": "a/b"}, "account"), ({"container": ""}, "container"),
    ({"container": "a\x00b"}, "NUL"), ({"container": "\udce9"}, "not UTF-8"),
    ({"rows": []}, "non-empty list of rows"), ({"rows": {}}, "non-empty list of rows"),
    ({"rows": [dict(good(), size=-1)]}, "size"),
])
def test_a_bad_section_is_refused_with_its_reason(change, reason):
    body = json.dumps([section(**change)]).encode("utf-8", "surrogatepass")
    with pytest.raises(BadRowBatch, match=reason):
        parse_sections_body(None, body=body)


@pytest.mark.parametrize("body, reason", [
    (b"", "not JSON"), (b"{}", "list of sections"), (b"[]", "list of sections"),
    (b"[1]", "JSON object"), (b"[[]]", "JSON object"),
])
def test_a_bad_sections_body_is_refused(body, reason):
    with pytest.raises(BadRowBatch, match=reason):
        parse_sections_body(None, body=body)


def test_sections_together_carry_at_most_a_batch_of_rows():
    half = MAX_BATCH_ROWS // 2 + 1
    sections = [RowSection("1", "AUTH_a", "c", [good()] * half),
                RowSection("1", "AUTH_a", "d", [good()] * half)]
    with pytest.raises(BadRowBatch, match="More than"):
        parse_sections_body(sections)


def test_section_statuses_are_one_per_section():
    assert parse_section_statuses(encode_section_statuses([204, 404]), 2) == [204, 404]
    for body, count in ((b"[204]", 2), (b"{}", 1), (b'["204"]', 1), (b"[true]", 1)):
        with pytest.raises(ValueError):
            parse_section_statuses(body, count)

"""Listing formats: media type choice and the plain / JSON / XML bodies."""
import json
from xml.dom import minidom

from objstore.common.listing_format import (ContainerEntry, ObjectEntry, SubdirEntry,
                                            choose_media_type, content_type_header,
                                            iso8601_from_internal, render_listing)
from objstore.common.timestamp import Timestamp


def test_choose_media_type():
    assert choose_media_type(None, None) == "text/plain"
    assert choose_media_type("json", "application/xml") == "application/json"
    assert choose_media_type("XML", None) == "application/xml"
    assert choose_media_type("bogus", None) == "text/plain"
    assert choose_media_type(None, "*/*") == "text/plain"
    assert choose_media_type(None, "application/json") == "application/json"
    assert choose_media_type(None, "text/xml") == "text/xml"
    assert choose_media_type(None, "application/*") == "application/json"
    assert choose_media_type(None, "application/json;q=0.5, application/xml") == \
        "application/xml"
    assert choose_media_type(None, "text/*;q=0.1, application/json;q=0.9") == \
        "application/json"
    assert choose_media_type(None, "image/png") is None
    assert choose_media_type(None, "application/json;q=0") is None
    assert content_type_header("text/plain") == "text/plain; charset=utf-8"


def test_iso8601_matches_timestamp():
    for value in ("1700000000.12345", "0000000001.00000", "1392683866.17952_000000000000000a",
                  "1e9"):
        assert iso8601_from_internal(value) == Timestamp(value).iso8601


def test_iso8601_of_many_seconds_matches_timestamp():
    """Every second of a few hours around odd dates (leap days, year ends, the
    far end of 10 digits), and a spread of random ones."""
    import random
    starts = (0, 951782400, 1700000000 - 1800, 2147483647 - 1800, 4102444800 - 1800,
              9999999999 - 3599)
    values = [start + offset for start in starts for offset in range(0, 3600, 7)]
    rng = random.Random(14)
    values += [rng.randrange(0, 10 ** 10) for _ in range(2000)]
    for value in values:
        internal = "%010d.%05d" % (value, value % 100000)
        assert iso8601_from_internal(internal) == Timestamp(internal).iso8601, internal


ENTRIES = [ObjectEntry("a&b", "1700000000.12345", 5, "text/plain", "etag1"),
           SubdirEntry("d/"),
           ObjectEntry("\u00e9", "1700000001.00000", 9, "image/jpeg;swift_bytes=1234", "e2")]


def test_plain():
    assert render_listing(ENTRIES, "text/plain", "container", "c") == \
        "a&b\nd/\n\u00e9\n".encode("utf-8")
    assert render_listing([], "text/plain", "container", "c") == b""


def test_json_objects_and_subdirs():
    data = json.loads(render_listing(ENTRIES, "application/json", "container", "c"))
    assert data[0] == {"name": "a&b", "hash": "etag1", "bytes": 5,
                       "content_type": "text/plain",
                       "last_modified": Timestamp("1700000000.12345").iso8601}
    assert data[1] == {"subdir": "d/"}
    assert data[2]["bytes"] == 1234 and data[2]["content_type"] == "image/jpeg"
    assert render_listing([], "application/json", "container", "c") == b"[]"


def test_slo_etag_is_listed_apart_from_the_manifest_hash():
    slo_row = ObjectEntry("big", "1700000000.12345", 99, "text/plain;swift_bytes=3000",
                          "m5; slo_etag=abc")
    data = json.loads(render_listing([slo_row], "application/json", "container", "c"))
    assert data[0]["hash"] == "m5" and data[0]["slo_etag"] == '"abc"'
    assert data[0]["bytes"] == 3000 and data[0]["content_type"] == "text/plain"
    s3_row = ObjectEntry("mpu", "1700000000.12345", 9, "text/plain;swift_bytes=30",
                         "m5; s3_etag=0123-2; slo_etag=abc")
    data = json.loads(render_listing([s3_row], "application/json", "container", "c"))
    assert (data[0]["hash"], data[0]["s3_etag"], data[0]["slo_etag"]) == \
        ("m5", "0123-2", '"abc"')
    other = ObjectEntry("o", "1700000000.12345", 1, "text/plain", "m5; other=1")
    assert json.loads(render_listing([other], "application/json", "container", "c")
                      )[0]["hash"] == "m5; other=1"
    xml = render_listing([slo_row], "application/xml", "container", "c")
    assert b"<hash>m5</hash>" in xml


def test_xml_container():
    body = render_listing(ENTRIES, "application/xml", "container", 'c"<')
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name=')
    root = minidom.parseString(body).documentElement
    assert root.getAttribute("name") == 'c"<'
    objects = root.getElementsByTagName("object")
    assert objects[0].getElementsByTagName("name")[0].firstChild.data == "a&b"
    assert objects[1].getElementsByTagName("bytes")[0].firstChild.data == "1234"
    subdir = root.getElementsByTagName("subdir")[0]
    assert subdir.getAttribute("name") == "d/"
    assert subdir.getElementsByTagName("name")[0].firstChild.data == "d/"


def test_account_formats():
    entries = [ContainerEntry("c1", 3, 30, "1700000000.00000"), SubdirEntry("x-")]
    data = json.loads(render_listing(entries, "application/json", "account", "AUTH_a"))
    assert data == [{"name": "c1", "count": 3, "bytes": 30,
                     "last_modified": Timestamp(1700000000).iso8601}, {"subdir": "x-"}]
    root = minidom.parseString(render_listing(entries, "text/xml", "account",
                                              "AUTH_a")).documentElement
    assert root.tagName == "account" and root.getAttribute("name") == "AUTH_a"
    assert root.getElementsByTagName("count")[0].firstChild.data == "3"


def test_json_fast_path_equals_generic_encoder():
    from objstore.common.listing_format import entry_as_dict
    entries = ENTRIES + [ObjectEntry('q"\\\n\u2028\U0001f600', "1700000000.00001", 0, "a/b", ""),
                         SubdirEntry('s"\u00e9/')]
    body = render_listing(entries, "application/json", "container", "c")
    assert json.loads(body) == [entry_as_dict(e) for e in entries]
    assert body == json.dumps([entry_as_dict(e) for e in entries]).encode("ascii")


def test_control_characters_keep_every_listing_parseable():
    ts = Timestamp(1700000000).internal
    objects = [ObjectEntry("a\x01b", ts, 1, "text/\x02plain", "e"), SubdirEntry("d\x1f/"),
               ObjectEntry("tab\tnew\nline", ts, 1, "t", "e")]
    body = render_listing(objects, "application/xml", "container", "c\x01")
    root = minidom.parseString(body).documentElement
    assert root.getAttribute("name") == "c\ufffd"
    names = [n.firstChild.data for n in root.getElementsByTagName("name")]
    assert names == ["a\ufffdb", "d\ufffd/", "tab\tnew\nline"]
    assert root.getElementsByTagName("content_type")[0].firstChild.data == "text/\ufffdplain"
    # JSON escapes them and keeps the exact names.
    listed = json.loads(render_listing(objects, "application/json", "container", "c\x01"))
    assert [row.get("name", row.get("subdir")) for row in listed] == [
        "a\x01b", "d\x1f/", "tab\tnew\nline"]
    accounts = [ContainerEntry("c\x01", 1, 2, ts)]
    body = render_listing(accounts, "application/xml", "account", "AUTH_\x7f")
    root = minidom.parseString(body).documentElement
    assert root.getElementsByTagName("name")[0].firstChild.data == "c\ufffd"


def _generic_json(entries):
    from objstore.common.listing_format import entry_as_dict
    return json.dumps([entry_as_dict(e) for e in entries]).encode("ascii")


ODD_ROWS = [
    ("plain", "1700000000.12345", 5, "text/plain", "d41d8cd98f00b204e9800998ecf8427e"),
    ('q"\\\n\u2028\U0001f600\x01\x7f', "1700000000.00001", 0, "a/b", ""),
    ("\u00e9t\u00e9/\u4e2d", "1700000001.99999", 2 ** 40, "text/plain; charset=\u00e9", "e"),
    ("big", "1700000000.12345", 99, "text/plain;swift_bytes=3000", "m5; slo_etag=abc"),
    ("mpu", "1700000000.12345", 9, "text/plain;swift_bytes=30", "m5; s3_etag=0123-2; slo_etag=abc"),
    ("upper", "1700000000.12345", 9, "text/plain;SWIFT_BYTES=30", "m5"),
    ("link", "1700000000.12345", 0, "application/symlink",
     "d41d; symlink_target=c/o%20x; symlink_target_etag=abc; symlink_target_bytes=3"),
    ("other", "1700000000.12345", 1, "text/plain", "m5; other=1"),
    ("offset", "1392683866.17952_000000000000000a", 1, "t", "e"),
    ("short", "1e9", 1, "t", "e"),
    ("short fraction", "1700000000.1", 1, "t", "e"),
    ("float notation", "1.5e9", 1, "t", "e"),
    ("same second", "1700000000.54321", 1, "text/plain", "e"),
    ("", "0000000001.00000", 0, "", ""),
]


def test_json_renderer_gives_the_generic_encoders_bytes_for_odd_rows():
    entries = [ObjectEntry(*row) for row in ODD_ROWS] + [
        SubdirEntry('s"\u00e9/'), ContainerEntry("c", 1, 2, "1700000000.00000")]
    body = render_listing(entries, "application/json", "container", "c")
    assert body == _generic_json(entries)
    listed = {row["name"]: row for row in json.loads(body) if "name" in row}
    assert listed["big"]["bytes"] == 3000 and listed["big"]["content_type"] == "text/plain"
    assert listed["big"]["slo_etag"] == '"abc"' and listed["mpu"]["s3_etag"] == "0123-2"
    assert listed["link"]["hash"].startswith("d41d; symlink_target=c/o%20x")
    assert listed["offset"]["last_modified"] == Timestamp(
        "1392683866.17952_000000000000000a").iso8601


def test_plain_row_tuples_render_like_object_entries():
    rows = list(ODD_ROWS) + [SubdirEntry("d/")]
    entries = [ObjectEntry(*row) if type(row) is tuple else row for row in rows]
    for media_type in ("application/json", "application/xml", "text/xml", "text/plain"):
        assert render_listing(rows, media_type, "container", "c") == \
            render_listing(entries, media_type, "container", "c"), media_type


def test_json_renderer_many_rows_and_seconds():
    # Rows spread over many seconds and content types, as in a real page.
    entries = [ObjectEntry("o%05d" % i, "%010d.%05d" % (1700000000 + i // 7, i % 100000),
                           i, "type/%d" % (i % 5), "%032x" % i) for i in range(2000)]
    assert render_listing(entries, "application/json", "container", "c") == \
        _generic_json(entries)
    assert render_listing([], "application/json", "container", "c") == b"[]"

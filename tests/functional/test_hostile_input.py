"""Hostile input at the proxy and middleware: a short 4xx, nothing stored, no traceback.

Each row of ``CASES`` is sent over real HTTP to the session cluster.  The test
asserts the status, a short reason in the body, that the thing the request
would have created does not exist afterwards, and that no server wrote a
traceback into its log while handling it.
"""
import http.client
import json
import os
import urllib.parse
from xml.dom import minidom

import pytest
from swiftclient import client as swift_client

DEEP = 50000
QUERY_PARAMS = ("marker", "prefix", "format", "delimiter", "end_marker", "path", "limit",
                "multipart-manifest", "reverse", "anything")


def send(url, token, method, path, headers=None, body=b""):
    """One request by hand; ``path`` is already percent-encoded."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("X-Auth-Token", token)
        conn.putheader("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture
def log_offsets(cluster):
    """Lets a test check that only its own requests' log lines hold no traceback."""
    def sizes():
        logs = cluster.logs_dir
        return {name: os.path.getsize(os.path.join(logs, name)) for name in os.listdir(logs)}

    def new_tracebacks(before):
        found = []
        for name, size in sizes().items():
            with open(os.path.join(cluster.logs_dir, name), "rb") as handle:
                handle.seek(before.get(name, 0))
                text = handle.read()
            if b"Traceback" in text:
                found.append((name, text.decode("utf-8", "replace")[-2000:]))
        return found
    return sizes, new_tracebacks


def manifest(entries):
    return json.dumps(entries).encode()


# (id, method, path under the account ({c}: a fresh container, {o}: a fresh object name
#  in it), headers, body, expected status, words of the reason, what must not exist after)
CASES = [
    *[("account-%s" % p, "GET", "?%s=%%ff" % p, {}, b"", 400, "not valid UTF-8", None)
      for p in QUERY_PARAMS],
    *[("container-%s" % p, "GET", "/{c}?%s=%%ff" % p, {}, b"", 400, "not valid UTF-8", None)
      for p in QUERY_PARAMS],
    ("object-get-marker", "GET", "/{c}/{o}?marker=%FF", {}, b"", 400, "not valid UTF-8", None),
    ("object-put-manifest-param", "PUT", "/{c}/{o}?multipart-manifest=%ff", {}, b"data", 400,
     "multipart-manifest is not valid UTF-8", "/{c}/{o}"),
    ("query-name", "GET", "/{c}?%ff=1", {}, b"", 400, "parameter name", None),
    # (limit=abc and limit=-1 are not refused: Swift ignores a limit that is not
    # all digits; test_core_api.py checks that the default applies)
    ("limit-huge", "GET", "/{c}?limit=" + "9" * 40, {}, b"", 412, "Maximum limit", None),
    ("slo-unbalanced-deep", "PUT", "/{c}/{o}?multipart-manifest=put", {}, b"[" * 100000,
     400, "Manifest must be valid JSON", "/{c}/{o}"),
    ("slo-balanced-deep", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b"[" * DEEP + b"]" * DEEP, 400, "nested at most 2 levels", "/{c}/{o}"),
    ("slo-deep-object", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b'[' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"]", 400, "nested at most", "/{c}/{o}"),
    ("slo-too-large", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b" " * (8 * 1024 * 1024 + 1), 413, "Manifest File >", "/{c}/{o}"),
    ("slo-surrogate-path", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b'[{"path": "/{c}/\\ud800"}]', 400, "valid UTF-8", "/{c}/{o}"),
    ("slo-path-not-string", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     manifest([{"path": 1}]), 400, "must be a string", "/{c}/{o}"),
    ("slo-bad-size", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b'[{"path": "/{c}/seg", "size_bytes": 1e400}]', 400, "size_bytes", "/{c}/{o}"),
    ("slo-bad-etag", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b'[{"path": "/{c}/seg", "etag": 5}]', 400, "etag", "/{c}/{o}"),
    ("slo-bad-range", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b'[{"path": "/{c}/seg", "range": "x-y"}]', 400, "Invalid Range", "/{c}/{o}"),
    ("slo-extra-key", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     b'[{"path": "/{c}/seg", "colour": "red"}]', 400, "extraneous", "/{c}/{o}"),
    ("slo-bad-data", "PUT", "/{c}/{o}?multipart-manifest=put", {},
     manifest([{"data": "not base64!"}]), 400, "base64", "/{c}/{o}"),
    ("slo-nan", "PUT", "/{c}/{o}?multipart-manifest=put", {}, b"NaN", 400,
     "valid JSON", "/{c}/{o}"),
    ("slo-empty", "PUT", "/{c}/{o}?multipart-manifest=put", {}, b"[]", 400,
     "at least one segment", "/{c}/{o}"),
    ("container-space", "PUT", "/%20", {}, b"", 400, "is not allowed", None),
    ("container-dot", "PUT", "/.", {}, b"", 400, "is not allowed", None),
    ("container-dotdot", "PUT", "/%2E%2E", {}, b"", 400, "is not allowed", None),
    ("container-bad-read-acl", "PUT", "/{c}-acl", {"X-Container-Read": ".r:"}, b"", 400,
     "X-Container-Read", "/{c}-acl"),
    ("container-referrer-write-acl", "PUT", "/{c}-acl", {"X-Container-Write": ".r:*"}, b"",
     400, "Referrers not allowed", "/{c}-acl"),
    ("delete-at-word", "PUT", "/{c}/{o}", {"X-Delete-At": "soon"}, b"x", 400,
     "Non-integer X-Delete-At", "/{c}/{o}"),
    ("delete-at-float", "PUT", "/{c}/{o}", {"X-Delete-At": "1e20"}, b"x", 400,
     "Non-integer X-Delete-At", "/{c}/{o}"),
    ("delete-at-past", "PUT", "/{c}/{o}", {"X-Delete-At": "1"}, b"x", 400,
     "X-Delete-At in past", "/{c}/{o}"),
    ("delete-after-negative", "PUT", "/{c}/{o}", {"X-Delete-After": "-1"}, b"x", 400,
     "X-Delete-After in past", "/{c}/{o}"),
    ("delete-after-fraction", "PUT", "/{c}/{o}", {"X-Delete-After": "1.5"}, b"x", 400,
     "Non-integer X-Delete-After", "/{c}/{o}"),
    ("copy-from-no-object", "PUT", "/{c}/{o}", {"X-Copy-From": "justacontainer"}, b"", 412,
     "X-Copy-From header must be of the form", "/{c}/{o}"),
    ("copy-from-bad-utf8", "PUT", "/{c}/{o}", {"X-Copy-From": "{c}/%ff"}, b"", 400,
     "Invalid UTF8", "/{c}/{o}"),
    ("copy-from-nul", "PUT", "/{c}/{o}", {"X-Copy-From": "{c}/%00"}, b"", 400,
     "Invalid UTF8", "/{c}/{o}"),
    ("copy-from-bad-account", "PUT", "/{c}/{o}",
     {"X-Copy-From": "{c}/seg", "X-Copy-From-Account": "%ff"}, b"", 400, "Invalid UTF8",
     "/{c}/{o}"),
    ("copy-destination-missing", "COPY", "/{c}/seg", {}, b"", 412,
     "Destination header required", None),
    ("copy-destination-no-object", "COPY", "/{c}/seg", {"Destination": "nope"}, b"", 412,
     "Destination header must be of the form", None),
    ("copy-destination-bad-utf8", "COPY", "/{c}/seg", {"Destination": "{c}/%ff"}, b"", 400,
     "Invalid UTF8", None),
    ("account-acl-not-json", "POST", "", {"X-Account-Access-Control": "{nope"}, b"", 400,
     "X-Account-Access-Control invalid", None),
    ("account-acl-deep", "POST", "", {"X-Account-Access-Control": "[" * 3000 + "]" * 3000},
     b"", 400, "X-Account-Access-Control invalid", None),
]


@pytest.fixture(scope="module")
def account(cluster):
    """(storage url, token, a container holding one 10-byte segment ``seg``)."""
    conn = swift_client.Connection(authurl=cluster.auth_url, user="test:tester",
                                   key="testing", retries=0, timeout=30)
    url, token = conn.get_auth()
    container = "hostile-%s" % os.urandom(4).hex()
    conn.put_container(container)
    conn.put_object(container, "seg", b"0123456789")
    conn.close()
    return url, token, container


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_hostile_request_is_refused_cleanly(account, log_offsets, case):
    url, token, container = account
    name, method, path, headers, body, status, reason, must_not_exist = case
    obj = "obj-%s" % name
    base = urllib.parse.urlsplit(url).path

    def fill(text):
        return text.replace("{c}", container).replace("{o}", obj)

    sizes, new_tracebacks = log_offsets
    before = sizes()
    got, answer = send(url, token, method, base + fill(path),
                       {k: fill(v) for k, v in headers.items()},
                       body.replace(b"{c}", container.encode()))
    assert got == status, answer[:300]
    assert reason.encode() in answer, answer[:300]
    assert len(answer) < 400 and b"Traceback" not in answer
    if must_not_exist:
        assert send(url, token, "HEAD", base + fill(must_not_exist))[0] == 404
    assert new_tracebacks(before) == []


def test_unaddressable_container_names_were_not_created(account):
    url, token, _container = account
    status, body = send(url, token, "GET", urllib.parse.urlsplit(url).path + "?format=json")
    assert status == 200
    assert not {" ", ".", ".."} & {row["name"] for row in json.loads(body)}


def test_client_swift_bytes_does_not_change_listed_size(account, conn):
    _url, _token, container = account
    conn.put_object(container, "sized", b"abc", content_type="text/plain;swift_bytes=100000")
    row = next(r for r in conn.get_container(container)[1] if r["name"] == "sized")
    assert row["bytes"] == 3 and row["content_type"] == "text/plain"
    assert conn.head_object(container, "sized")["content-type"] == "text/plain"


def test_control_characters_in_names_keep_listings_parseable(account, conn, unique):
    url, token, _container = account
    container = unique("ctl\x01")
    conn.put_container(container)
    conn.put_object(container, "a\x01b\x1f", b"x", content_type="text/\x02plain")
    base = urllib.parse.urlsplit(url).path
    quoted = urllib.parse.quote(container)
    status, body = send(url, token, "GET", base + "/" + quoted + "?format=json")
    assert status == 200 and json.loads(body)[0]["name"] == "a\x01b\x1f"
    status, body = send(url, token, "GET", base + "/" + quoted + "?format=xml")
    root = minidom.parseString(body).documentElement
    assert root.getElementsByTagName("name")[0].firstChild.data == "a\ufffdb\ufffd"
    status, body = send(url, token, "GET", base + "?format=xml&prefix=" + quoted)
    names = [n.firstChild.data for n in
             minidom.parseString(body).documentElement.getElementsByTagName("name")]
    assert names == [container.replace("\x01", "\ufffd")]


@pytest.mark.parametrize("segment_range", ["0-", "5-", None])
def test_dlo_over_slos_with_open_ended_ranges(account, conn, unique, log_offsets,
                                              segment_range):
    _url, _token, segments = account
    parts = unique("parts")
    conn.put_container(parts)
    big = os.urandom(200000)
    conn.put_object(segments, "big", big)
    conn.put_object(parts, "0-plain", b"p" * 70000)
    entry = {"path": "/%s/big" % segments}
    if segment_range:
        entry["range"] = segment_range
    conn.put_object(parts, "1-slo", json.dumps([entry, {"path": "/%s/seg" % segments}]),
                    query_string="multipart-manifest=put")
    conn.put_object(parts, "2-plain", b"q" * 10)
    conn.put_object(segments, "dlo-" + parts, b"", headers={"X-Object-Manifest": parts + "/"})
    sizes, new_tracebacks = log_offsets
    before = sizes()
    slo_content = big[int((segment_range or "0-")[:-1]):] + b"0123456789"
    expected = b"p" * 70000 + slo_content + b"q" * 10
    headers, body = conn.get_object(segments, "dlo-" + parts)
    assert int(headers["content-length"]) == len(expected)
    assert body == expected
    headers, body = conn.get_object(segments, "dlo-" + parts,
                                    headers={"Range": "bytes=69990-70010"})
    assert body == expected[69990:70011]
    assert new_tracebacks(before) == []


def test_segment_lost_mid_body_drops_the_connection_without_a_traceback(
        account, conn, unique, log_offsets):
    url, token, segments = account
    parts = unique("lost")
    conn.put_container(parts)
    conn.put_object(parts, "0-plain", b"p" * 70000)
    conn.put_object(segments, "doomed-" + parts, b"d" * 100)
    conn.put_object(parts, "1-slo", json.dumps([{"path": "/%s/doomed-%s" % (segments, parts)}]),
                    query_string="multipart-manifest=put")
    conn.put_object(segments, "dlo-" + parts, b"", headers={"X-Object-Manifest": parts + "/"})
    conn.delete_object(segments, "doomed-" + parts)
    sizes, new_tracebacks = log_offsets
    before = sizes()
    with pytest.raises(http.client.IncompleteRead):
        send(url, token, "GET", "%s/%s/dlo-%s" % (urllib.parse.urlsplit(url).path, segments,
                                                  parts))
    assert new_tracebacks(before) == []

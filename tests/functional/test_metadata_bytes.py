"""Metadata values that are not UTF-8: refused on accounts and containers, kept on objects.

Account and container metadata comes back inside JSON and XML listings and
must be text (400 "Metadata must be valid UTF-8"); object metadata is handed
back byte for byte.
"""
import pytest


@pytest.mark.parametrize("value", [b"\xff", b"caf\xc3"])
def test_container_metadata_must_be_utf8(http_as, conn, unique, value):
    container = unique()
    http = http_as()
    for method in ("PUT", "POST"):
        if method == "POST":
            conn.put_container(container)
        status, _h, body = http.request(method, "/" + container,
                                        headers={"X-Container-Meta-Bad": value})
        assert (status, body) == (400, b"Metadata must be valid UTF-8")
    assert not [k for k in conn.head_container(container) if k.startswith("x-container-meta")]


def test_account_metadata_must_be_utf8(http_as, conn):
    status, _h, body = http_as().request("POST", "", headers={"X-Account-Meta-Bad": b"\xff"})
    assert (status, body) == (400, b"Metadata must be valid UTF-8")
    assert "x-account-meta-bad" not in conn.head_account()


def test_object_metadata_bytes_are_kept_and_echoed(http_as, conn, unique):
    container = unique()
    conn.put_container(container)
    http = http_as()
    status, _h, _b = http.request("PUT", "/%s/o" % container, b"x",
                                  {"X-Object-Meta-Raw": b"\xff\xfe"})
    assert status == 201
    status, headers, _b = http.request("HEAD", "/%s/o" % container)
    assert status == 200 and headers["x-object-meta-raw"].encode("latin-1") == b"\xff\xfe"
    assert http.request("POST", "/%s/o" % container,
                        headers={"X-Object-Meta-Raw": b"caf\xc3"})[0] == 202
    headers = http.request("GET", "/%s/o" % container)[1]
    assert headers["x-object-meta-raw"].encode("latin-1") == b"caf\xc3"

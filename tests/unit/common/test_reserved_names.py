"""The reserved namespace end to end below the proxy: naming, the storage servers'
gate on NUL paths, listings that hide reserved names, the backend client's header."""
import io
import json

import pytest
from webob import Request

from objstore.account.server import app_factory as account_app_factory
from objstore.common.backend_client import BackendConnection
from objstore.common.cluster_config import ClusterConfig
from objstore.common.reserved_names import (ALLOW_RESERVED_HEADER, allows_reserved,
                                            is_reserved, reserved_name, split_reserved_name)
from objstore.common.timestamp import Timestamp

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
BASE = "/sda/2/AUTH_test"
HIDDEN = "/%00versions%00photos"


def test_names_round_trip():
    name = reserved_name("versions", "photos")
    assert name == "\x00versions\x00photos"
    assert is_reserved(name) and not is_reserved("photos")
    assert split_reserved_name(name) == ["versions", "photos"]
    with pytest.raises(ValueError):
        split_reserved_name("photos")
    with pytest.raises(ValueError):
        reserved_name("a\x00b")


@pytest.mark.parametrize("value,expected", [("true", True), ("True", True), ("yes", True),
                                            ("false", False), ("", False), ("bogus", False)])
def test_allows_reserved(value, expected):
    assert allows_reserved({ALLOW_RESERVED_HEADER: value}) is expected
    assert allows_reserved({}) is False


@pytest.fixture
def account_app(tmp_path):
    (tmp_path / "sda").mkdir()
    return account_app_factory(CLUSTER, {"devices": str(tmp_path)}, mount_check="false")


def call(app, path, method="GET", headers=None):
    return Request.blank(path, method=method, headers=headers or {}).get_response(app)


def report(app, container, headers=None):
    base = {"X-Put-Timestamp": Timestamp(1001).internal, "X-Delete-Timestamp": "0",
            "X-Object-Count": "1", "X-Bytes-Used": "5",
            "X-Backend-Storage-Policy-Index": "0"}
    base.update(headers or {})
    return call(app, BASE + container, "PUT", base)


def test_storage_server_refuses_nul_path_without_header(account_app):
    assert call(account_app, BASE, "PUT", {"X-Timestamp": Timestamp(1000).internal}).status_int == 201
    assert report(account_app, HIDDEN).status_int == 400
    assert report(account_app, HIDDEN, {ALLOW_RESERVED_HEADER: "true"}).status_int == 201


def test_account_listing_hides_reserved_unless_asked(account_app):
    call(account_app, BASE, "PUT", {"X-Timestamp": Timestamp(1000).internal})
    report(account_app, "/photos")
    report(account_app, HIDDEN, {ALLOW_RESERVED_HEADER: "true"})
    shown = call(account_app, BASE + "?format=json")
    assert [c["name"] for c in json.loads(shown.body)] == ["photos"]
    # the totals still count the hidden container, as the account holds it
    assert shown.headers["X-Account-Container-Count"] == "2"
    for query in ("?format=json", "?format=json&reverse=on", "?format=json&marker=%00"):
        everything = call(account_app, BASE + query, headers={ALLOW_RESERVED_HEADER: "true"})
        assert sorted(c["name"] for c in json.loads(everything.body)) == [
            "\x00versions\x00photos", "photos"]
    reverse = call(account_app, BASE + "?format=json&reverse=on")
    assert [c["name"] for c in json.loads(reverse.body)] == ["photos"]


class _Recorder(BackendConnection):
    def __init__(self):
        self.host, self.port, self.sent = "h", 1, b""
        self.sock = io.BytesIO()
        self.sock.makefile = lambda mode: io.BytesIO()

    def _sendall(self, data):
        self.sent += data


@pytest.mark.parametrize("path,flagged", [("/d/1/a/%00versions%00c", True),
                                          ("/d/1/a/c%2500", False), ("/d/1/a/c", False)])
def test_backend_client_flags_reserved_paths(path, flagged):
    conn = _Recorder()
    conn.putrequest("PUT", path, {})
    assert (b"X-Backend-Allow-Reserved-Names: true" in conn.sent) is flagged

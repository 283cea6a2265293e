"""proxy_logging: one exact, parseable access line per request."""
import io
import logging

import pytest
import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.middleware import proxy_logging
from objstore.middleware.proxy_logging import (ACCESS_LOG_FIELDS, ProxyLogging,
                                               parse_access_line)

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines():
    handler = Lines()
    logger = logging.getLogger("objstore.proxy-access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.25

    def __call__(self):
        self.now += 0.5
        return self.now


def streaming_app(chunks, status="200 OK", headers=None, read_body=True):
    def app(environ, start_response):
        if read_body:
            while environ["wsgi.input"].read(7):
                pass
        start_response(status, headers or [("Content-Type", "application/octet-stream"),
                                           ("X-Backend-Storage-Policy-Index", "1")])
        return iter(chunks)
    return app


def run(app, req):
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status

    result = app(req.environ, start_response)
    body = b"".join(result)
    result.close()
    return captured["status"], body


def test_streamed_request_and_response_counted_exactly(access_lines):
    chunks = [b"a" * 1000, b"", b"b" * 4096, b"c" * 3]
    app = ProxyLogging(streaming_app(chunks), clock=Clock())
    upload = b"x" * 12345
    req = webob.Request.blank(
        "/v1/AUTH_test/c/o%20name", method="PUT", body=upload,
        headers={"X-Auth-Token": "AUTH_tk0123456789abcdefSECRETPART",
                 "User-Agent": "python-swiftclient 4.0", "Referer": "http://x.example/",
                 "X-Forwarded-For": "203.0.113.9, 10.0.0.1", "Etag": "abc"})
    req.environ["REMOTE_ADDR"] = "10.0.0.1"
    req.environ["QUERY_STRING"] = "multipart-manifest=put&x=%2F"
    req.environ["swift.trans_id"] = "txabc-0000000001"
    req.environ["REMOTE_USER"] = "test,test:tester,AUTH_test"
    req.environ["swift.log_info"] = ["one", "two"]
    status, body = run(app, req)
    assert len(body) == 5099
    assert len(access_lines) == 1
    line = access_lines[0]
    assert len(line.split(" ")) == len(ACCESS_LOG_FIELDS)
    fields = parse_access_line(line)
    assert fields["client_ip"] == "203.0.113.9"
    assert fields["remote_addr"] == "10.0.0.1"
    assert fields["method"] == "PUT"
    assert fields["path"] == "/v1/AUTH_test/c/o name?multipart-manifest=put&x=%2F"
    assert "?multipart-manifest=put&x=%2F " in line  # the query is encoded once, not twice
    assert fields["protocol"] == "HTTP/1.0"
    assert fields["status"] == "200"
    assert fields["referer"] == "http://x.example/"
    assert fields["user_agent"] == "python-swiftclient 4.0"
    assert fields["auth_token"] == "AUTH_tk012345678..."
    assert "SECRETPART" not in line
    assert fields["bytes_recvd"] == "12345"
    assert fields["bytes_sent"] == "5099"
    assert fields["etag"] == "abc"
    assert fields["trans_id"] == "txabc-0000000001"
    assert fields["headers"] == "-"
    assert fields["request_time"] == "0.5000"
    assert fields["log_info"] == "one,two"
    assert fields["policy_index"] == "1"
    assert fields["remote_user"] == "test,test:tester,AUTH_test"
    assert float(fields["end_time"]) - float(fields["start_time"]) == pytest.approx(0.5)
    assert fields["datetime"] == "14/Nov/2023/22/13/21"


def test_unicode_path_is_quoted_and_round_trips(access_lines):
    app = ProxyLogging(streaming_app([b"ok"]))
    run(app, webob.Request.blank("/v1/AUTH_test/c/%C3%A9t%C3%A9 %25x"))
    assert " " not in access_lines[0].split(" ", 4)[4].split(" ")[0]
    assert parse_access_line(access_lines[0])["path"] == "/v1/AUTH_test/c/été %x"


def test_client_disconnect_mid_download_is_logged(access_lines):
    chunks = (bytes([65 + i]) * 100 for i in range(10))
    app = ProxyLogging(streaming_app(chunks, read_body=False))
    req = webob.Request.blank("/v1/AUTH_test/c/big")
    result = app(req.environ, lambda status, headers, exc_info=None: None)
    iterator = iter(result)
    next(iterator)
    next(iterator)
    result.close()      # what the server does when the socket write fails
    assert len(access_lines) == 1
    fields = parse_access_line(access_lines[0])
    assert fields["status"] == "499"
    assert fields["bytes_sent"] == "200"


def test_client_disconnect_mid_upload_is_logged(access_lines):
    class DyingInput(io.BytesIO):
        def read(self, size=-1):
            data = super().read(size)
            if self.tell() > 20:
                raise ConnectionResetError("client went away")
            return data

    def reading_app(environ, start_response):
        environ["wsgi.input"].read(10)
        environ["wsgi.input"].read(10)
        environ["wsgi.input"].read(10)
        start_response("201 Created", [])
        return [b""]

    app = ProxyLogging(reading_app)
    req = webob.Request.blank("/v1/AUTH_test/c/o", method="PUT")
    req.environ["wsgi.input"] = DyingInput(b"z" * 100)
    with pytest.raises(ConnectionResetError):
        app(req.environ, lambda *a: None)
    fields = parse_access_line(access_lines[0])
    assert fields["status"] == "499"
    assert fields["bytes_recvd"] == "20"


def test_app_exception_logged_as_500(access_lines):
    def broken(environ, start_response):
        raise RuntimeError("bug")

    app = ProxyLogging(broken)
    with pytest.raises(RuntimeError):
        app(webob.Request.blank("/v1/a").environ, lambda *a: None)
    assert parse_access_line(access_lines[0])["status"] == "500"


def test_one_line_even_if_closed_before_iteration(access_lines):
    app = ProxyLogging(streaming_app([b"data"]))
    req = webob.Request.blank("/v1/a/c/o", method="HEAD")
    result = app(req.environ, lambda *a: None)
    result.close()
    result.close()
    assert len(access_lines) == 1


def test_subrequest_logged_once_and_log_headers_option(access_lines):
    inner = ProxyLogging(streaming_app([b"x"]))
    outer = ProxyLogging(inner, conf={"log_headers": "true"})
    run(outer, webob.Request.blank("/v1/a", headers={"X-Object-Meta-Color": "blue",
                                                    "X-Auth-Token": "AUTH_tkverysecrettoken"}))
    assert len(access_lines) == 1
    headers = parse_access_line(access_lines[0])["headers"]
    assert "X-Object-Meta-Color: blue" in headers
    assert "verysecret" not in headers


def test_parse_full_logger_line(tmp_path):
    log_file = tmp_path / "access.log"
    conf = {"log_file": str(log_file), "access_log_name": "proxy-access-filetest"}
    app = proxy_logging.filter_factory(CLUSTER, {}, **conf)(streaming_app([b"abc"]))
    run(app, webob.Request.blank("/v1/AUTH_test/c"))
    written = log_file.read_text().strip()
    fields = parse_access_line(written)
    assert fields["path"] == "/v1/AUTH_test/c"
    assert fields["bytes_sent"] == "3"
    with pytest.raises(ValueError):
        parse_access_line("not an access line")


def test_short_tokens_are_never_logged_whole_and_path_is_the_clients(access_lines):
    def rewriting_app(environ, start_response):
        environ["PATH_INFO"] = "/rewritten"
        start_response("204 No Content", [])
        return []

    app = ProxyLogging(rewriting_app)
    run(app, webob.Request.blank("/v1/a/c?x=1", headers={"X-Auth-Token": "shorttok"}))
    fields = parse_access_line(access_lines[0])
    assert fields["auth_token"] == "shor..."
    assert fields["path"] == "/v1/a/c?x=1"
    assert fields["status"] == "204"
    assert fields["bytes_sent"] == "-" and fields["bytes_recvd"] == "-"

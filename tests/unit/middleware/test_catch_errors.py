"""catch_errors: trans ids on every response, and no traceback ever reaches a client."""
import logging
import re

import pytest
import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.middleware import catch_errors
from objstore.middleware.catch_errors import CatchErrors, ResponseBodyAborted

TRANS_ID_RE = re.compile(r"^tx[0-9a-f]{21}-[0-9a-f]{10}")


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(logging.Formatter("%(message)s").format(record)
                          + ("\n" + logging.Formatter().formatException(record.exc_info)
                             if record.exc_info else ""))


@pytest.fixture
def log_lines():
    handler = Recorder()
    logger = logging.getLogger("objstore.catch-errors")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def ok_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [environ["swift.trans_id"].encode()[:5]]


def raising_app(environ, start_response):
    raise RuntimeError("secret internal detail")


def run_wsgi(app, path="/v1/a/c", method="GET", headers=None):
    """Call the app the way a WSGI server does; return (status, headers, body, error)."""
    req = webob.Request.blank(path, method=method, headers=headers or {})
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body, error = b"", None
    result = app(req.environ, start_response)
    try:
        for chunk in result:
            body += chunk
    except Exception as err:  # noqa: BLE001
        error = err
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured.get("status"), dict(captured.get("headers") or []), body, error, req.environ


def test_trans_id_in_environ_and_headers():
    status, headers, body, error, environ = run_wsgi(CatchErrors(ok_app))
    assert status == "200 OK" and error is None
    trans_id = environ["swift.trans_id"]
    assert TRANS_ID_RE.match(trans_id)
    assert headers["X-Trans-Id"] == trans_id
    assert headers["X-Openstack-Request-Id"] == trans_id
    assert body == trans_id.encode()[:5]


def test_trans_id_extra_is_appended():
    _s, headers, _b, _e, _env = run_wsgi(CatchErrors(ok_app),
                                         headers={"X-Trans-Id-Extra": "my-job-42"})
    assert headers["X-Trans-Id"].endswith("-my-job-42")
    assert TRANS_ID_RE.match(headers["X-Trans-Id"])


def test_each_request_gets_a_new_id():
    app = CatchErrors(ok_app)
    ids = {run_wsgi(app)[1]["X-Trans-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_exception_becomes_500_with_trans_id(log_lines):
    status, headers, body, error, environ = run_wsgi(CatchErrors(raising_app))
    assert error is None
    assert status == "500 Internal Server Error"
    trans_id = environ["swift.trans_id"]
    assert headers["X-Trans-Id"] == trans_id
    assert trans_id.encode() in body
    assert b"Traceback" not in body and b"secret internal detail" not in body
    assert any("Traceback" in line and "secret internal detail" in line for line in log_lines)


def test_error_from_inner_middleware_response_still_tagged():
    def forbidden(environ, start_response):
        return webob.Response(status=403, body=b"no")(environ, start_response)

    status, headers, body, _e, environ = run_wsgi(CatchErrors(forbidden))
    assert status.startswith("403")
    assert headers["X-Trans-Id"] == environ["swift.trans_id"]
    assert body == b"no"


def test_exception_before_first_chunk_is_still_a_clean_500(log_lines):
    def lazy_failure(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])

        def body():
            raise ValueError("boom in generator")
            yield b""  # pragma: no cover
        return body()

    status, headers, body, error, environ = run_wsgi(CatchErrors(lazy_failure))
    assert error is None
    assert status.startswith("500")
    assert environ["swift.trans_id"].encode() in body
    assert b"boom" not in body
    assert any("boom in generator" in line for line in log_lines)


def test_exception_mid_body_is_logged_and_drops_connection(log_lines):
    closed = []

    class Body:
        def __iter__(self):
            yield b"first part"
            raise OSError("disk vanished")

        def close(self):
            closed.append(True)

    def streaming(environ, start_response):
        start_response("200 OK", [("Content-Length", "100")])
        return Body()

    status, headers, body, error, environ = run_wsgi(CatchErrors(streaming))
    assert status == "200 OK"
    assert body == b"first part"
    assert isinstance(error, ResponseBodyAborted)
    assert "disk vanished" not in str(error)
    assert environ["swift.trans_id"] in str(error)
    assert closed == [True]
    assert any("disk vanished" in line and "Traceback" in line for line in log_lines)


def test_short_body_against_content_length_is_not_silently_accepted(log_lines):
    def liar(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return [b"12345"]

    _s, _h, body, error, _env = run_wsgi(CatchErrors(liar))
    assert body == b"12345"
    assert isinstance(error, ResponseBodyAborted)
    assert any("5 of its Content-Length 10" in line for line in log_lines)
    # HEAD responses declare a length without a body: fine.
    _s, _h, body, error, _env = run_wsgi(CatchErrors(liar), method="HEAD")
    assert error is None


def test_invalid_utf8_or_nul_path_is_412():
    app = CatchErrors(ok_app)
    for raw in ("/v1/a/c/%FF%FE", "/v1/a/c/o%00x"):
        status, headers, body, _e, _env = run_wsgi(app, path=raw)
        assert status.startswith("412"), raw
        assert body == b"Invalid UTF8 or contains NULL"
        assert TRANS_ID_RE.match(headers["X-Trans-Id"])
    status, _h, _b, _e, _env = run_wsgi(app, path="/v1/a/c/%C3%A9t%C3%A9")
    assert status == "200 OK"


def test_filter_factory():
    cluster = ClusterConfig.build("p", "s")
    app = catch_errors.filter_factory(cluster, {}, log_name="catch-errors")(ok_app)
    assert isinstance(app, CatchErrors)
    assert run_wsgi(app)[0] == "200 OK"


def test_webob_harness_sees_plain_500():
    resp = webob.Request.blank("/v1/a").get_response(CatchErrors(raising_app))
    assert resp.status_int == 500
    assert resp.headers["X-Trans-Id"].encode() in resp.body


def test_app_that_started_response_then_raised_gets_500_replacing_it():
    def half_started(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        raise KeyError("late failure")

    status, headers, body, error, environ = run_wsgi(CatchErrors(half_started))
    assert error is None
    assert status.startswith("500")
    assert headers["X-Trans-Id"] == environ["swift.trans_id"]
    assert b"late failure" not in body


@pytest.mark.parametrize("query", [
    "marker=%FF", "prefix=%C3", "format=%ff", "delimiter=%fe", "end_marker=%ff",
    "path=%ff", "limit=%ff", "multipart-manifest=%ff", "anything=%ff", "%ff=1",
    "marker=\xff"])
@pytest.mark.parametrize("path", ["/v1/a", "/v1/a/c", "/v1/a/c/o"])
def test_query_that_is_not_utf8_text_is_400_before_any_filter(query, path):
    reached = []

    def app(environ, start_response):
        reached.append(environ)
        return ok_app(environ, start_response)

    req = webob.Request.blank(path)
    req.environ["QUERY_STRING"] = query
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status

    body = b"".join(CatchErrors(app)(req.environ, start_response))
    assert captured["status"].startswith("400"), query
    assert b"not valid UTF-8" in body
    assert reached == []


def test_valid_utf8_query_passes():
    status, _h, _b, _e, environ = run_wsgi(CatchErrors(ok_app),
                                           path="/v1/a/c?marker=%C3%A9&prefix=x+y")
    assert status == "200 OK"


def test_body_the_app_aborted_itself_is_logged_without_a_stack(log_lines):
    def aborting(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])

        def body():
            yield b"first"
            raise ResponseBodyAborted("segment /v1/a/c/s ended 5 bytes early")
        return body()

    _s, _h, body, error, environ = run_wsgi(CatchErrors(aborting))
    assert body == b"first"
    assert isinstance(error, ResponseBodyAborted)
    assert environ["swift.trans_id"] in str(error)
    assert any("ended 5 bytes early" in line for line in log_lines)
    assert not any("Traceback" in line for line in log_lines)

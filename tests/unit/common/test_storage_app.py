import logging

import webob

from objstore.common.storage_app import StorageServerApp
from objstore.common.storage_request import text_response


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class TinyServer(StorageServerApp):
    server_type = "tiny"
    methods = ("GET", "PUT")

    def __init__(self):
        self.logger = logging.getLogger("test.tiny")
        self.logger.setLevel(logging.INFO)
        self.recorder = _Recorder()
        self.logger.addHandler(self.recorder)

    def GET(self, req):
        if req.path.endswith("/boom"):
            raise RuntimeError("secret internals")
        return text_response(200, "hello")

    def PUT(self, req):
        raise webob.exc.HTTPConflict()


def test_access_line_carries_the_proxys_trans_id():
    app = TinyServer()
    resp = webob.Request.blank("/d1/3/a/c/caf%C3%A9 x", headers={
        "X-Trans-Id": "txabc-123", "X-Backend-Storage-Policy-Index": "0"},
        environ={"REMOTE_ADDR": "127.0.0.9"}).get_response(app)
    assert resp.status_int == 200
    line = app.recorder.lines[-1]
    assert line.startswith("127.0.0.9 - - [")
    assert '"GET /d1/3/a/c/caf%C3%A9%20x" 200 5 "-" "txabc-123"' in line
    assert line.endswith(" 0")


def test_unknown_verb_is_405_with_allow():
    resp = webob.Request.blank("/d/1/a", method="COPY").get_response(TinyServer())
    assert resp.status_int == 405 and resp.headers["Allow"] == "GET, PUT"


def test_raised_http_errors_pass_through_and_bugs_become_500():
    app = TinyServer()
    assert webob.Request.blank("/d/1/a", method="PUT").get_response(app).status_int == 409
    resp = webob.Request.blank("/d/1/a/boom").get_response(app)
    assert resp.status_int == 500 and b"secret" not in resp.body
    assert '"GET /d/1/a/boom" 500' in app.recorder.lines[-1]

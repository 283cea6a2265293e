"""Fixtures shared by the object-side unit tests."""
import pytest


class _Recorder:
    """A tiny real HTTP server that records requests and answers ``status``."""

    def __init__(self, sock=None):
        import http.server
        import socket
        import threading

        recorder = self
        self.requests = []
        self.status = 201

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append((self.command, self.path, dict(self.headers), body))
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_DELETE = do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        if sock is None:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler,
                                                      bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock
        self.server.server_activate()
        self.port = sock.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    rec = _Recorder()
    yield rec
    rec.stop()


@pytest.fixture
def dead_port():
    """A bound socket that is not listening (connections are refused) and its port.

    ``start_recorder()`` later serves on the very same port.
    """
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    started = []

    class Dead:
        port = sock.getsockname()[1]

        @staticmethod
        def start_recorder():
            rec = _Recorder(sock)
            started.append(rec)
            return rec

    yield Dead
    for rec in started:
        rec.stop()
    sock.close()

"""A real browser (headless Chromium) calls the cluster from a page on another origin.

The page is served by a small HTTP server on its own port, so for the
browser the proxy is a different origin: every call below goes through the
browser's own CORS checks (a preflight for the PUT with ``X-Auth-Token``,
then the actual requests), exactly as a web application's would.  The page
reports what it saw back to its own server.
"""
import http.server
import json
import queue
import shutil
import subprocess
import threading

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")

PAGE = """<!doctype html>
<html><body><script>
const storage = %(storage)s, token = %(token)s;
async function run() {
  const seen = {};
  try {
    let r = await fetch(storage + "/%(open)s/page.txt", {method: "PUT", body: "hello from the page",
      headers: {"X-Auth-Token": token, "Content-Type": "text/plain",
                "X-Object-Meta-Color": "blue"}});
    seen.put = r.status;
    r = await fetch(storage + "/%(open)s/page.txt", {headers: {"X-Auth-Token": token}});
    seen.get = r.status;
    seen.body = await r.text();
    for (const name of ["etag", "x-object-meta-color", "x-trans-id", "x-timestamp",
                        "content-type", "x-backend-timestamp"]) {
      seen[name] = r.headers.get(name);
    }
    try {
      await fetch(storage + "/%(closed)s/o", {headers: {"X-Auth-Token": token}});
      seen.closed = "read";
    } catch (err) {
      seen.closed = "blocked";
    }
  } catch (err) {
    seen.error = String(err);
  }
  await fetch("/result", {method: "POST", body: JSON.stringify(seen)});
}
run();
</script></body></html>
"""


class PageServer(http.server.ThreadingHTTPServer):
    """Serves the page at / and collects what it POSTs to /result."""

    def __init__(self, page):
        self.page = page.encode("utf-8")
        self.results = queue.Queue()
        super().__init__(("127.0.0.1", 0), PageHandler)

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.server.page)))
        self.end_headers()
        self.wfile.write(self.server.page)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.results.put(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def page_server():
    servers = []

    def _serve(page):
        server = PageServer(page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server
    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_cross_origin_fetch_from_a_page(conn, unique, page_server, tmp_path):
    url, token = conn.get_auth()
    open_container, closed = unique("browser"), unique("closed")
    conn.put_container(closed)
    conn.put_object(closed, "o", b"private")
    server = page_server(PAGE % {"storage": json.dumps(url), "token": json.dumps(token),
                                 "open": open_container, "closed": closed})
    conn.put_container(open_container, headers={
        "X-Container-Meta-Access-Control-Allow-Origin": server.origin})
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", "--user-data-dir=%s" % (tmp_path / "profile"),
         server.origin + "/"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = server.results.get(timeout=60)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
    assert "error" not in seen, seen
    assert seen["put"] == 201 and seen["get"] == 200
    assert seen["body"] == "hello from the page"
    # the page reads exactly the exposed headers, nothing internal
    assert seen["x-object-meta-color"] == "blue"
    assert seen["etag"] and seen["x-trans-id"].startswith("tx") and seen["x-timestamp"]
    assert seen["content-type"].startswith("text/plain")
    assert seen["x-backend-timestamp"] is None
    # a container that allows no origin keeps its answer from the page
    assert seen["closed"] == "blocked"
    assert conn.get_object(open_container, "page.txt")[0]["x-object-meta-color"] == "blue"

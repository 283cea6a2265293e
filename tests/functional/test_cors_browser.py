"""A real browser (headless Chromium) calls the cluster from a page on another origin.

The page is served by a small HTTP server on its own port, so for the
browser the proxy is a different origin: every call below goes through the
browser's own CORS checks (a preflight for the PUT with ``X-Auth-Token``,
then the actual requests), exactly as a web application's would.  The page
reports what it saw back to its own server.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.functional.chromium import needs_chromium, open_page, stop

pytestmark = needs_chromium

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


PAGE_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page_server.py")


@pytest.fixture
def page_server(tmp_path):
    """page_server(page) -> (process, origin, result_file): the page, served apart."""
    started = []

    def _serve(page):
        page_file, result_file = tmp_path / "page.html", tmp_path / "result.json"
        page_file.write_text(page, encoding="utf-8")
        server = subprocess.Popen([sys.executable, PAGE_SERVER, str(page_file),
                                   str(result_file)], stdout=subprocess.PIPE, text=True)
        started.append(server)
        port = int(server.stdout.readline())
        return server, "http://127.0.0.1:%d" % port, result_file
    yield _serve
    for server in started:
        if server.poll() is None:
            server.kill()
        server.wait()
        server.stdout.close()


def test_cross_origin_fetch_from_a_page(conn, unique, page_server, tmp_path):
    url, token = conn.get_auth()
    open_container, closed = unique("browser"), unique("closed")
    conn.put_container(closed)
    conn.put_object(closed, "o", b"private")
    server, origin, result_file = page_server(PAGE % {
        "storage": json.dumps(url), "token": json.dumps(token), "open": open_container,
        "closed": closed})
    conn.put_container(open_container, headers={
        "X-Container-Meta-Access-Control-Allow-Origin": origin})
    browser = open_page(origin + "/", tmp_path / "profile")
    try:
        server.wait(timeout=60)  # it exits once the page has reported
    finally:
        stop(browser)
    seen = json.loads(result_file.read_text())
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

"""A static website in a real browser (headless Chromium), at its own host name.

The site is uploaded to a public container and opened at
``http://<container>.auth-test.localhost:<port>/`` (Chromium resolves every
``*.localhost`` name to the loopback address), so domain_remap, staticweb
and formpost are all exercised as a visitor would.  A driver page, part of the
site, walks it in a same-origin frame: the index and its stylesheet and image,
a link into a sub-directory, the custom 404, a listing clicked through, and a
real HTML form that uploads a file.  The index's own script fetches a JSON
object from another container at another origin (the proxy's address),
which only CORS lets it read.  The driver hands its findings back through
FormPost too, as ``results/results.json``; screenshots of the pages are kept
as the run's artifacts.
"""
import hashlib
import hmac
import json
import mimetypes
import struct
import time
import zlib

from tests.functional.chromium import (needs_chromium, open_page, screenshot, screenshot_dir,
                                       stop)

pytestmark = needs_chromium

KEY = "browser-form-key"

DRIVER = """<!doctype html>
<html><body>
<iframe id="f" name="f"></iframe>
<form id="upload" method="POST" enctype="multipart/form-data" action="./" target="f">
%(upload_fields)s
<input type="file" name="file">
</form>
<script>
const frame = document.getElementById("f");
function opened(start) {
  return new Promise(done => { frame.onload = () => done(frame.contentWindow); start(); });
}
const load = url => opened(() => { frame.src = url; });
const click = link => opened(() => link.click());
async function run() {
  const seen = {};
  try {
    let w = await load("./");
    seen.root = w.document.body.textContent;
    seen.color = w.getComputedStyle(w.document.body).color;
    const img = w.document.getElementById("logo");
    await img.decode().catch(() => {});
    seen.image_width = img.naturalWidth;
    const data = w.document.getElementById("data");
    for (let i = 0; i < 100 && !data.textContent; i++) {
      await new Promise(done => setTimeout(done, 100));
    }
    seen.cross_origin_data = data.textContent;
    w = await click(w.document.querySelector("a[href='docs/']"));
    seen.docs_path = w.location.pathname;
    seen.docs = w.document.body.textContent;
    const missing = await fetch("no/such/page.html");
    seen.missing_status = missing.status;
    seen.missing = await missing.text();
    w = await load("files/");
    seen.listing_title = w.document.title;
    w = await click(w.document.querySelector("a[href='./sub/']"));
    w = await click(w.document.querySelector("a[href='./deep%%2Etxt']"));
    seen.deep = w.document.body.textContent;
    const form = document.getElementById("upload");
    const files = new DataTransfer();
    files.items.add(new File(["uploaded by the browser"], "from-browser.txt",
                             {type: "text/plain"}));
    form.querySelector("input[type=file]").files = files.files;
    w = await opened(() => form.submit());
    seen.after_upload = w.location.pathname + w.location.search;
  } catch (err) {
    seen.error = String(err);
  }
  const report = new FormData();
  for (const [name, value] of Object.entries(%(result_fields)s)) report.append(name, value);
  report.append("file", new Blob([JSON.stringify(seen)], {type: "application/json"}),
                "results.json");
  await fetch("results/", {method: "POST", body: report});
}
run();
</script></body></html>
"""


# The site's own script: it reads data from another origin, as a web app would.
APP_JS = """
fetch(%(data_url)s)
  .then(r => r.json())
  .then(d => { document.getElementById("data").textContent = d.message; })
  .catch(err => { document.getElementById("data").textContent = "failed: " + err; });
"""


def tiny_png():
    """A valid 1x1 red PNG, so the browser has a real image to decode."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def form_fields(path, redirect, expires):
    message = "%s\n%s\n%s\n%s\n%s" % (path, redirect, 1024, 1, expires)
    signature = hmac.new(KEY.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {"redirect": redirect, "max_file_size": "1024", "max_file_count": "1",
            "expires": str(expires), "signature": signature}


def test_website_in_a_browser(cluster, conn, swift, unique, tmp_path):
    container = unique("site")
    base = "/v1/AUTH_test/%s/" % container
    site_origin = "http://%s.auth-test.localhost:%d" % (container, cluster.proxy_port)
    data_container = unique("site-data")
    conn.put_container(data_container, headers={
        "X-Container-Read": ".r:*", "X-Container-Meta-Access-Control-Allow-Origin": site_origin})
    conn.put_object(data_container, "data.json", b'{"message": "read through CORS"}',
                    content_type="application/json")
    # The proxy's own address is another origin than the site's host name.
    data_url = "http://127.0.0.1:%d/v1/AUTH_test/%s/data.json" % (cluster.proxy_port,
                                                                  data_container)
    expires = int(time.time()) + 600
    upload = form_fields(base, "done.html", expires)
    results = form_fields(base + "results/", "", expires)
    driver = DRIVER % {
        "upload_fields": "\n".join('<input type="hidden" name="%s" value="%s">' % item
                                   for item in upload.items()),
        "result_fields": json.dumps(results)}
    site = {
        "index.html": b'<html><head><link rel="stylesheet" href="style.css"></head><body>'
                      b'root index <img id="logo" src="logo.png"> <a href="docs/">docs</a>'
                      b'<p id="data"></p><script src="app.js"></script></body></html>',
        "app.js": (APP_JS % {"data_url": json.dumps(data_url)}).encode(),
        "style.css": b"body { color: rgb(255, 0, 0); }",
        "logo.png": tiny_png(),
        "docs/index.html": b"<html><body>docs index</body></html>",
        "files/sub/deep.txt": b"deep",
        "files/top.txt": b"top",
        "404error.html": b"<html><body>custom not found</body></html>",
        "done.html": b"<html><body>thanks</body></html>",
        "driver.html": driver.encode(),
    }
    conn.put_container(container, headers={"X-Container-Meta-Temp-URL-Key": KEY})
    for name, body in site.items():
        conn.put_object(container, name, body, content_type=mimetypes.guess_type(name)[0])
    swift("post", "-r", ".r:*,.rlistings", "-m", "web-index:index.html",
          "-m", "web-listings: true", "-m", "web-error:error.html", container)

    browser = open_page(site_origin + "/driver.html", tmp_path / "profile")
    try:
        seen = wait_for_results(conn, container)
    finally:
        stop(browser)
    assert "error" not in seen, seen
    assert "root index" in seen["root"]
    assert seen["color"] == "rgb(255, 0, 0)"          # the stylesheet applied
    assert seen["image_width"] == 1                    # the image decoded
    assert seen["cross_origin_data"] == "read through CORS"
    assert seen["docs_path"] == "/docs/" and "docs index" in seen["docs"]
    assert seen["missing_status"] == 404 and "custom not found" in seen["missing"]
    # The listing names the storage path, even when the site has its own host name.
    assert seen["listing_title"] == "Listing of /v1/AUTH_test/%s/files/" % container
    assert seen["deep"] == "deep"
    assert seen["after_upload"] == "/done.html?status=201&message="
    meta, body = conn.get_object(container, "from-browser.txt")
    assert body == b"uploaded by the browser" and meta["content-type"] == "text/plain"

    shots = screenshot_dir(tmp_path)
    for name, page in (("site-root", "/"), ("listing", "/files/"),
                       ("custom-404", "/no/such/page.html")):
        screenshot(site_origin + page, shots / ("%s.png" % name), tmp_path / "shot-profile")
    print("screenshots of the site: %s" % shots)


def wait_for_results(conn, container, timeout=90):
    """The driver page's findings, once its FormPost has stored them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [item["name"] for item in conn.get_container(container, prefix="results/")[1]]
        if names:
            return json.loads(conn.get_object(container, "results/results.json")[1])
        time.sleep(0.5)
    raise AssertionError("the browser reported nothing within %ds" % timeout)

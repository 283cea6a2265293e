"""The staticweb middleware against an in-memory container with website metadata."""
import json

import pytest
from webob import Request, Response

from objstore.middleware import staticweb
from objstore.middleware.staticweb_listing import human_size, render_listing, stylesheet_href

C = "/v1/AUTH_a/site"


class WebsiteProxy:
    """One container's metadata and objects; listings honour prefix and delimiter."""

    def __init__(self, meta, objects, public=True):
        self.meta = meta
        self.objects = objects
        self.public = public

    def __call__(self, environ, start_response):
        req = Request(environ)
        path = environ["PATH_INFO"]
        if path == "/v1/AUTH_a":
            return Response(status=204)(environ, start_response)
        if path == C and req.method == "HEAD":
            return Response(status=204, headers={
                "X-Container-Meta-" + k: v for k, v in self.meta.items()})(
                    environ, start_response)
        if not self.public and environ.get("swift.source") != "INFO":
            return Response(status=401, body=b"denied")(environ, start_response)
        if path == C:
            return self.listing(req)(environ, start_response)
        name = path[len(C) + 1:].encode("latin-1").decode("utf-8")
        if name not in self.objects:
            return Response(status=404, body=b"plain 404")(environ, start_response)
        body, ctype = self.objects[name]
        resp = Response(status=200, body=body, content_type=ctype, charset=None)
        return resp(environ, start_response)

    def listing(self, req):
        prefix = req.GET.get("prefix", "")
        entries, seen = [], set()
        for name in sorted(self.objects):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if "/" in rest:
                sub = prefix + rest.split("/", 1)[0] + "/"
                if sub not in seen:
                    seen.add(sub)
                    entries.append({"subdir": sub})
            else:
                body, ctype = self.objects[name]
                entries.append({"name": name, "bytes": len(body), "content_type": ctype,
                                "last_modified": "2026-01-02T03:04:05.678901"})
        return Response(body=json.dumps(entries).encode(), content_type="application/json")


SITE = {"index.html": (b"root", "text/html"), "docs/index.html": (b"docs", "text/html"),
        "files/a&<b>.txt": (b"x" * 2048, "text/plain"), "files/sub/c": (b"c", "text/plain"),
        "404error.html": (b"custom", "text/html"),
        "dir": (b"", "application/directory"), "dir/in": (b"i", "text/plain")}


@pytest.fixture
def make(cluster):
    def _make(meta=None, objects=None, public=True):
        meta = {"Web-Index": "index.html", "Web-Listings": "true",
                "Web-Error": "error.html"} if meta is None else meta
        return staticweb.filter_factory(cluster, {})(WebsiteProxy(meta, objects or SITE, public))
    return _make


def get(app, path, method="GET", **headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def test_index_at_root_and_in_directories_with_redirects(make):
    app = make()
    assert get(app, C + "/").body == b"root"
    resp = get(app, C)
    assert resp.status_int == 301 and resp.location.endswith(C + "/")
    assert get(app, C + "/docs/").body == b"docs"
    resp = get(app, C + "/docs")
    assert resp.status_int == 301 and resp.location.endswith(C + "/docs/")


def test_custom_error_page_with_the_status(make):
    resp = get(make(), C + "/missing")
    assert resp.status_int == 404 and resp.body == b"custom"
    resp = get(make(meta={"Web-Index": "index.html"}), C + "/missing")
    assert resp.status_int == 404 and resp.body == b"Not Found"


def test_error_page_for_401_on_a_private_container(make):
    objects = dict(SITE, **{"401error.html": (b"who are you", "text/html")})
    resp = get(make(objects=objects, public=False), C + "/")
    # the error page is fetched as the visitor too, so a private one stays private
    assert resp.status_int == 401 and resp.body == b"denied"


def test_listing_escaped_with_parent_sizes_dates_and_css(make):
    app = make(meta={"Web-Listings": "true", "Web-Listings-CSS": "l.css"})
    resp = get(app, C + "/files/")
    page = resp.text
    assert resp.content_type == "text/html"
    assert '<a href="./a%26%3Cb%3E%2Etxt">a&amp;&lt;b&gt;.txt</a>' in page
    assert '<a href="./sub/">sub/</a>' in page and '<a href="../">../</a>' in page
    assert '<td class="colsize">2Ki</td>' in page
    assert '<td class="coldate">2026-01-02 03:04:05</td>' in page
    assert 'href="../l.css"' in page
    assert "Listing of /v1/AUTH_a/site/files/" in page
    root = get(app, C + "/").text
    assert '<a href="../">' not in root and 'href="l.css"' in root
    assert get(app, C + "/files").status_int == 301
    assert get(app, C + "/files/", method="HEAD").body == b""


def test_listings_off_means_404(make):
    app = make(meta={"Web-Index": "index.html", "Web-Error": "error.html"})
    resp = get(app, C + "/files/")
    assert resp.status_int == 404 and resp.body == b"custom"


def test_directory_marker_is_treated_as_a_directory(make):
    resp = get(make(), C + "/dir")
    assert resp.status_int == 301
    assert "in" in get(make(), C + "/dir/").text
    typed = make(meta={"Web-Listings": "true", "Web-Directory-Type": "text/directory"})
    assert get(typed, C + "/dir").status_int == 200


def test_authenticated_requests_pass_unless_web_mode(make):
    app = make()
    req = Request.blank(C + "/", environ={"REMOTE_USER": "a,a:u"})
    assert req.get_response(app).status_int == 404     # the stand-in has no object ''
    req = Request.blank(C + "/", environ={"REMOTE_USER": "a,a:u"},
                        headers={"X-Web-Mode": "true"})
    assert req.get_response(app).body == b"root"
    plain = make(meta={})
    req = Request.blank(C + "/", headers={"X-Web-Mode": "true"})
    assert req.get_response(plain).status_int == 404


def test_writes_and_containers_without_website_pass_through(make):
    app = make(meta={})
    assert get(app, C + "/index.html").body == b"root"
    # a PUT reaches the container as is (the stand-in answers it like a GET)
    assert get(make(), C + "/docs", method="PUT").status_int == 404


def test_listing_helpers():
    assert human_size(512) == "512" and human_size(2048) == "2Ki"
    assert human_size(3 * 1024 ** 2) == "3Mi"
    assert stylesheet_href("/abs.css", "a/b/") == "/abs.css"
    assert stylesheet_href("s s.css", "a/b/") == "../../s%20s.css"
    page = render_listing("/v1/a/c/<x>/", "<x>/", [{"subdir": "<x>/\"q\"/"}], None)
    assert "&lt;x&gt;" in page and "<x>" not in page.replace("<x>/", "")

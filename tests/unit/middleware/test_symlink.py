"""The symlink filter against an in-memory object store (``fake_store``)."""
import hashlib
import io
import json

import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.middleware import symlink_headers as names
from objstore.middleware.symlink import filter_factory
from objstore.middleware.symlink_listing import link_row, rewrite_listing

EMPTY = hashlib.md5(b"").hexdigest()
BODY = b"target bytes"
BODY_MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture
def store(fake_store):
    store = fake_store()
    store.put("/v1/a/t/obj", BODY, Content_Type="text/target")
    return store


def make_app(store, **conf):
    cluster = ClusterConfig.build("p", "s")
    return filter_factory(cluster, {}, **conf)(store), cluster


@pytest.fixture
def app(store):
    return make_app(store)[0]


def call(app, method, path, body=b"", headers=None, environ=None):
    req = Request.blank(path, method=method, headers=headers or {}, environ=environ or {})
    if body or method == "PUT":
        req.body = body
    return req.get_response(app)


def link(app, path, target, **headers):
    headers = dict({names.TARGET: target}, **{k.replace("_", "-"): v for k, v in headers.items()})
    return call(app, "PUT", path, headers=headers)


def test_put_stores_sysmeta_and_the_listing_etag(app, store):
    resp = link(app, "/v1/a/c/ln", "t/obj")
    assert resp.status_int == 201
    stored, body = store.objects["/v1/a/c/ln"]
    assert body == b""
    assert stored[names.SYSMETA_TARGET] == "t/obj"
    assert names.SYSMETA_TARGET_ACCOUNT not in stored
    assert stored[names.OVERRIDE_ETAG] == "%s; symlink_target=t/obj" % EMPTY
    assert stored["Content-Type"] == "application/symlink"
    assert not any(k.lower().startswith("x-symlink") for k in stored)


def test_put_normalises_the_target_and_keeps_the_account(app, store):
    assert link(app, "/v1/a/c/ln", "t/x%2Fy%20z", X_Symlink_Target_Account="b").status_int == 201
    stored = store.objects["/v1/a/c/ln"][0]
    assert stored[names.SYSMETA_TARGET] == "t/x/y%20z"
    assert stored[names.SYSMETA_TARGET_ACCOUNT] == "b"
    assert stored[names.OVERRIDE_ETAG] == \
        "%s; symlink_target=t/x/y%%20z; symlink_target_account=b" % EMPTY


@pytest.mark.parametrize("target,headers,status,reason", [
    ("obj", {}, 412, b"X-Symlink-Target header must be of the form"),
    ("/t/obj", {}, 412, b"X-Symlink-Target header must be of the form"),
    ("t/", {}, 412, b"X-Symlink-Target header must be of the form"),
    ("c/ln", {}, 400, b"Symlink cannot target itself"),
    ("t/obj", {"X-Symlink-Target-Account": "x/y"}, 412, b"Account name cannot contain slashes"),
    ("t/obj", {"X-Symlink-Target-Account": ""}, 412, b"Account name cannot be empty"),
    ("t/obj", {"X-Symlink-Target-Etag": "a;b"}, 400, b"Bad X-Symlink-Target-Etag format"),
    ("t/obj", {"X-Symlink-Target-Etag": BODY_MD5, "X-Symlink-Target-Bytes": "x"}, 400,
     b"Bad X-Symlink-Target-Bytes format"),
    ("t/obj", {"X-Symlink-Target-Bytes": "3"}, 400, b"X-Symlink-Target-Bytes requires X-Symlink-Target-Etag"),
])
def test_put_refusals(app, store, target, headers, status, reason):
    resp = call(app, "PUT", "/v1/a/c/ln", headers=dict(headers, **{names.TARGET: target}))
    assert resp.status_int == status
    assert resp.body.startswith(reason)
    assert "/v1/a/c/ln" not in store.objects


def test_put_with_a_body_is_refused(app, store):
    resp = call(app, "PUT", "/v1/a/c/ln", b"x", {names.TARGET: "t/obj"})
    assert (resp.status_int, resp.body) == (400, b"Symlink requests require a zero byte body")
    req = Request.blank("/v1/a/c/ln", method="PUT", headers={names.TARGET: "t/obj",
                                                             "Transfer-Encoding": "chunked"})
    req.body_file = io.BytesIO(b"y")
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(app).status_int == 400


def test_a_self_target_in_another_account_is_fine(app):
    assert link(app, "/v1/a/c/ln", "c/ln", X_Symlink_Target_Account="b").status_int == 201


def test_get_and_head_follow_with_content_location(app, store):
    link(app, "/v1/a/c/ln", "t/obj")
    resp = call(app, "GET", "/v1/a/c/ln")
    assert (resp.status_int, resp.body) == (200, BODY)
    assert resp.headers["Content-Location"] == "/v1/a/t/obj"
    assert resp.headers["Content-Type"] == "text/target"
    get = [c for c in store.calls if c[0] == "GET"]
    assert [c[1] for c in get[-2:]] == ["/v1/a/c/ln", "/v1/a/t/obj"]
    resp = call(app, "HEAD", "/v1/a/c/ln")
    assert (resp.status_int, resp.headers["Content-Length"]) == (200, str(len(BODY)))


def test_symlink_get_shows_the_link(app):
    link(app, "/v1/a/c/ln", "t/obj", X_Symlink_Target_Account="a")
    resp = call(app, "GET", "/v1/a/c/ln?symlink=get")
    assert (resp.status_int, resp.body) == (200, b"")
    assert resp.headers[names.TARGET] == "t/obj"
    assert resp.headers[names.TARGET_ACCOUNT] == "a"
    assert names.SYSMETA_TARGET not in resp.headers
    assert "Content-Location" not in resp.headers


def test_follow_carries_range_and_conditions_to_the_target(app, store):
    link(app, "/v1/a/c/ln", "t/obj")
    resp = call(app, "GET", "/v1/a/c/ln", headers={"Range": "bytes=2-4"})
    assert (resp.status_int, resp.body) == (206, BODY[2:5])
    resp = call(app, "GET", "/v1/a/c/ln", headers={"If-Match": BODY_MD5})
    assert (resp.status_int, resp.body) == (200, BODY)
    resp = call(app, "GET", "/v1/a/c/ln", headers={"If-Match": "nope"})
    assert resp.status_int == 412
    assert call(app, "GET", "/v1/a/c/ln?symlink=get",
                headers={"If-Match": BODY_MD5}).status_int == 412


def test_plain_objects_answer_412_without_a_probe_follow(app, store):
    resp = call(app, "GET", "/v1/a/t/obj", headers={"If-Match": "nope"})
    assert resp.status_int == 412
    assert "Content-Location" not in resp.headers


def test_missing_target_is_404_with_location(app):
    link(app, "/v1/a/c/ln", "t/none")
    resp = call(app, "GET", "/v1/a/c/ln")
    assert resp.status_int == 404
    assert resp.headers["Content-Location"] == "/v1/a/t/none"


def test_loop_limit(store):
    app, cluster = make_app(store, symloop_max="3")
    assert cluster.capabilities.as_info()["symlink"] == {"symloop_max": 3, "static_links": True}
    link(app, "/v1/a/c/1", "t/obj")
    for n in range(2, 6):
        link(app, "/v1/a/c/%d" % n, "c/%d" % (n - 1))
    assert call(app, "GET", "/v1/a/c/3").body == BODY
    resp = call(app, "GET", "/v1/a/c/4")
    assert (resp.status_int, resp.body) == (
        409, b"Too many levels of symbolic links, maximum allowed is 3")
    assert call(app, "HEAD", "/v1/a/c/4").body == b""


def test_symloop_extend_does_not_count(app, store):
    store.put("/v1/a/c/1", b"", **{names.SYSMETA_TARGET.replace("-", "_"): "t/obj"})
    for n in (2, 3):
        store.put("/v1/a/c/%d" % n, b"", **{
            names.SYSMETA_TARGET.replace("-", "_"): "c/%d" % (n - 1),
            names.SYSMETA_SYMLOOP_EXTEND.replace("-", "_"): "true"})
    assert call(app, "GET", "/v1/a/c/3").body == BODY


def test_symloop_max_below_one_is_refused(store):
    with pytest.raises(ConfigError):
        make_app(store, symloop_max="0")


def test_static_link_checks_the_target(app, store):
    resp = link(app, "/v1/a/c/st", "t/obj", X_Symlink_Target_Etag="bad")
    assert (resp.status_int, resp.body) == (
        409, b"Object Etag '%s' does not match X-Symlink-Target-Etag header 'bad'"
        % BODY_MD5.encode())
    resp = link(app, "/v1/a/c/st", "t/none", X_Symlink_Target_Etag=BODY_MD5)
    assert (resp.status_int, resp.body) == (409, b"X-Symlink-Target does not exist")
    assert resp.headers["Content-Location"] == "/v1/a/t/none"
    resp = link(app, "/v1/a/c/st", "t/obj", X_Symlink_Target_Etag=BODY_MD5,
                X_Symlink_Target_Bytes="1")
    assert resp.status_int == 409
    resp = link(app, "/v1/a/c/st", "t/obj", X_Symlink_Target_Etag='"%s"' % BODY_MD5,
                X_Symlink_Target_Bytes=str(len(BODY)))
    assert resp.status_int == 201
    stored = store.objects["/v1/a/c/st"][0]
    assert stored[names.SYSMETA_TARGET_ETAG] == BODY_MD5
    assert stored[names.SYSMETA_TARGET_BYTES] == str(len(BODY))
    assert stored["Content-Type"] == "text/target"
    assert stored[names.OVERRIDE_ETAG] == (
        "%s; symlink_target=t/obj; symlink_target_etag=%s; symlink_target_bytes=%d"
        % (EMPTY, BODY_MD5, len(BODY)))
    assert call(app, "GET", "/v1/a/c/st").body == BODY
    store.put("/v1/a/t/obj", b"changed")
    resp = call(app, "GET", "/v1/a/c/st")
    assert resp.status_int == 409
    assert resp.headers["Content-Location"] == "/v1/a/t/obj"


def test_static_link_to_an_slo_manifest_records_the_large_object(app, store):
    store.put("/v1/a/t/man", b"[]", X_Static_Large_Object="True",
              X_Object_Sysmeta_Slo_Etag="sloetag", X_Object_Sysmeta_Slo_Size="4096")
    manifest_etag = hashlib.md5(b"[]").hexdigest()
    assert link(app, "/v1/a/c/st", "t/man", X_Symlink_Target_Etag=manifest_etag).status_int == 201
    stored = store.objects["/v1/a/c/st"][0]
    assert stored[names.SYSMETA_TARGET_BYTES] == "4096"
    assert stored[names.OVERRIDE_ETAG].startswith("%s; slo_etag=sloetag; symlink_target=" % EMPTY)


def test_static_link_stops_at_a_dynamic_link(app, store):
    link(app, "/v1/a/c/dyn", "t/obj")
    assert link(app, "/v1/a/c/st", "c/dyn", X_Symlink_Target_Etag=BODY_MD5).status_int == 409
    assert link(app, "/v1/a/c/st", "c/dyn", X_Symlink_Target_Etag=EMPTY).status_int == 201
    assert call(app, "GET", "/v1/a/c/st").body == BODY


def test_middleware_written_static_link_is_trusted(app, store):
    resp = call(app, "PUT", "/v1/a/c/v", headers={
        names.TARGET: "t/obj", names.SYSMETA_TARGET_ETAG: "e", names.SYSMETA_TARGET_BYTES: "9"})
    assert resp.status_int == 201
    assert not [c for c in store.calls if c[0] == "HEAD"]
    assert store.objects["/v1/a/c/v"][0][names.OVERRIDE_ETAG].endswith(
        "symlink_target_etag=e; symlink_target_bytes=9")


def test_post_to_a_link_redirects_relative(app, store):
    link(app, "/v1/a/c/st", "t/obj", X_Symlink_Target_Etag=BODY_MD5)
    env = Request.blank("/v1/a/c/st", method="POST",
                        headers={"X-Object-Meta-A": "b"}).environ
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))
    body = b"".join(app(env, start_response))
    assert captured["status"].startswith("307")
    assert captured["headers"]["Location"] == "/v1/a/t/obj"
    assert captured["headers"][names.TARGET_ETAG] == BODY_MD5
    assert captured["headers"][names.SYSMETA_TARGET] == "t/obj"
    assert b"applied to a symlink" in body
    assert call(app, "POST", "/v1/a/t/obj").status_int == 202
    resp = call(app, "POST", "/v1/a/t/obj", headers={names.TARGET: "t/x"})
    assert (resp.status_int, resp.body) == (
        400, b"A PUT request is required to set a symlink target")


def test_target_reads_are_authorized_even_after_the_proxy_dropped_the_hook(store):
    seen = []

    def authorize(req):
        seen.append(req.path_info)
        return Response(status=403) if req.path_info.startswith("/v1/a/secret") else None

    def proxy(environ, start_response):
        # like the proxy: an allowed request loses its hook
        hook = environ.get("swift.authorize")
        if hook is not None:
            denied = hook(Request(environ))
            if denied is not None:
                return denied(environ, start_response)
            del environ["swift.authorize"]
        return store(environ, start_response)

    app = make_app(proxy)[0]
    store.put("/v1/a/secret/x", b"no")
    link(app, "/v1/a/c/ln", "secret/x")
    resp = call(app, "GET", "/v1/a/c/ln", environ={"swift.authorize": authorize})
    assert resp.status_int == 403
    assert resp.headers["Content-Location"] == "/v1/a/secret/x"
    assert seen == ["/v1/a/c/ln", "/v1/a/secret/x"]


def test_reserved_name_links_are_followed_pre_authorized(app, store):
    store.put("/v1/a/c/v", b"", **{names.SYSMETA_TARGET.replace("-", "_"): "t/obj",
                                  names.SYSMETA_ALLOW_RESERVED_NAMES.replace("-", "_"): "true"})
    resp = call(app, "GET", "/v1/a/c/v",
                environ={"swift.authorize": lambda req: Response(status=401)})
    assert resp.body == BODY
    assert store.calls[-1][3][names.BACKEND_ALLOW_RESERVED_NAMES] == "true"


def test_listing_rows():
    row = {"name": "l", "hash": "%s; symlink_target=t/o%%20x; symlink_target_account=b; "
                                "symlink_target_etag=e; symlink_target_bytes=12; other=1" % EMPTY}
    assert link_row(dict(row), "v1", "a") == {
        "name": "l", "hash": "%s; other=1" % EMPTY, "symlink_path": "/v1/b/t/o%20x",
        "symlink_etag": "e", "symlink_bytes": 12}
    plain = {"name": "p", "hash": BODY_MD5}
    assert link_row(dict(plain), "v1", "a") == plain
    assert link_row({"subdir": "x/"}, "v1", "a") == {"subdir": "x/"}


XML_LISTING = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<container name="c">'
    '<object><name>l &amp; m</name><hash>%s; symlink_target=t/o; symlink_target_etag=e; '
    'symlink_target_bytes=3</hash><bytes>0</bytes><content_type>a/b</content_type>'
    '<last_modified>2026-01-01T00:00:00.000000</last_modified></object>'
    '<object><name>p</name><hash>%s</hash><bytes>1</bytes><content_type>a/b</content_type>'
    '<last_modified>2026-01-01T00:00:00.000000</last_modified></object>'
    '<subdir name="d/"><name>d/</name></subdir></container>' % (EMPTY, BODY_MD5))


def test_listing_rewrite_of_json_and_xml():
    rows = [{"name": "l", "hash": "%s; symlink_target=t/o" % EMPTY}]

    def container(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if "format=xml" in query:
            return Response(body=XML_LISTING.encode(),
                            content_type="application/xml")(environ, start_response)
        if "format=plain" in query:
            return Response(body=b"l\n", content_type="text/plain")(environ, start_response)
        return Response(body=json.dumps(rows).encode(),
                        content_type="application/json")(environ, start_response)

    resp = rewrite_listing(Request.blank("/v1/a%20b/c?format=json"), container, "v1", "a b")
    assert json.loads(resp.body) == [{"name": "l", "hash": EMPTY,
                                      "symlink_path": "/v1/a%20b/t/o"}]
    assert resp.content_length == len(resp.body)
    resp = rewrite_listing(Request.blank("/v1/a/c?format=xml"), container, "v1", "a")
    assert resp.body == XML_LISTING.replace(
        "; symlink_target=t/o; symlink_target_etag=e; symlink_target_bytes=3", "").replace(
        "</last_modified></object><object><name>p",
        "</last_modified><symlink_path>/v1/a/t/o</symlink_path><symlink_etag>e</symlink_etag>"
        "<symlink_bytes>3</symlink_bytes></object><object><name>p").encode()
    assert resp.content_length == len(resp.body)
    resp = rewrite_listing(Request.blank("/v1/a/c?format=plain"), container, "v1", "a")
    assert resp.body == b"l\n"


def test_container_and_account_requests_pass(app, store):
    resp = link(app, "/v1/a/t/ln", "t/obj")
    assert resp.status_int == 201
    resp = call(app, "GET", "/v1/a/t")
    assert resp.status_int == 200
    assert [row["name"] for row in json.loads(resp.body)] == ["ln", "obj"]
    call(app, "PUT", "/info", headers={names.TARGET: "t/obj"})
    assert names.SYSMETA_TARGET not in store.objects["/info"][0]


def test_copy_of_a_link_with_symlink_get_is_a_link(store):
    from objstore.middleware.copy import filter_factory as copy_factory
    app = make_app(store)[0]
    copier = copy_factory(ClusterConfig.build("p", "s"), {})(app)
    link(app, "/v1/a/c/ln", "t/obj", X_Symlink_Target_Etag=BODY_MD5)
    resp = call(copier, "COPY", "/v1/a/c/ln?symlink=get", headers={"Destination": "c/ln2"})
    assert resp.status_int == 201
    stored, body = store.objects["/v1/a/c/ln2"]
    assert (body, stored[names.SYSMETA_TARGET], stored[names.SYSMETA_TARGET_ETAG]) == \
        (b"", "t/obj", BODY_MD5)
    assert stored[names.OVERRIDE_ETAG].count("symlink_target=") == 1
    resp = call(copier, "PUT", "/v1/a/c/ln3?symlink=get",
                headers={"X-Copy-From": "c/ln", "X-Symlink-Target-Account": "b"})
    # the request's target account wins; b/t/obj does not exist, so the static link is refused
    assert (resp.status_int, resp.body) == (409, b"X-Symlink-Target does not exist")
    assert resp.headers["Content-Location"] == "/v1/b/t/obj"
    resp = call(copier, "COPY", "/v1/a/c/ln", headers={"Destination": "c/bytes"})
    assert resp.status_int == 201
    stored, body = store.objects["/v1/a/c/bytes"]
    assert body == BODY and names.SYSMETA_TARGET not in stored

"""The public surface: routing, /info, trans ids, auth hook, info cache, accounts, containers."""
import json

from webob import Request

from objstore.proxy import info_cache

ACCOUNT = "AUTH_test"


def req(path, method="GET", **kwargs):
    return Request.blank(path, method=method, **kwargs)


def test_every_response_carries_the_trans_id(cluster):
    app = cluster.proxy
    for path, method in (("/v1/%s" % ACCOUNT, "HEAD"), ("/v1/%s/nope" % ACCOUNT, "GET"),
                         ("/v1/%s/c/o" % ACCOUNT, "COPY"), ("/info", "GET"),
                         ("/info", "POST"), ("/v2/x", "GET"), ("/", "GET")):
        resp = req(path, method).get_response(app)
        assert resp.headers["X-Trans-Id"].startswith("tx"), (path, method)
        assert resp.headers["X-Openstack-Request-Id"] == resp.headers["X-Trans-Id"]
    given = req("/v1/%s" % ACCOUNT, environ={"swift.trans_id": "txgiven"}).get_response(app)
    assert given.headers["X-Trans-Id"] == "txgiven"
    resp = req("/v1/%s" % ACCOUNT, headers={"X-Trans-Id-Extra": "-mine"}).get_response(app)
    assert resp.headers["X-Trans-Id"].endswith("-mine")


def test_info(cluster):
    resp = req("/info").get_response(cluster.proxy)
    assert resp.status_int == 200
    info = json.loads(resp.body)
    assert info["swift"]["max_file_size"] > 0
    # no cors middleware in this pipeline: no CORS setting is advertised
    assert "strict_cors_mode" not in info["swift"]
    # (the registry is per process: another test's proxy may have changed the value)
    assert isinstance(info["swift"]["allow_account_management"], bool)
    assert isinstance(info["swift"]["account_autocreate"], bool)
    assert info["swift"]["policies"][0]["name"] == "Policy-0"
    assert req("/info", "PUT").get_response(cluster.proxy).status_int == 405


def test_routing_errors(cluster):
    app = cluster.proxy
    assert req("/v2/a/c").get_response(app).status_int == 400
    # no account named at all: 412 Bad URL; an empty container segment: 404
    assert req("/v1").get_response(app).status_int == 412
    assert req("/v1/").get_response(app).status_int == 412
    assert req("/info%20asdf").get_response(app).status_int == 412
    assert req("/nothing-here").get_response(app).status_int == 412
    assert req("/v1/%s//o" % ACCOUNT).get_response(app).status_int == 404
    assert req("/v1//c/o").get_response(app).status_int == 404
    assert req("//v1/%s" % ACCOUNT).get_response(app).status_int == 404
    assert req("/v1/%s/c/o" % ACCOUNT, "PATCH").get_response(app).status_int == 405


def test_account_autocreate_and_management(cluster):
    app = cluster.proxy
    resp = req("/v1/AUTH_new", "HEAD").get_response(app)
    assert resp.status_int == 204
    assert resp.headers["X-Account-Container-Count"] == "0"
    resp = req("/v1/AUTH_new?format=json").get_response(app)
    assert resp.status_int == 200 and json.loads(resp.body) == []
    assert req("/v1/AUTH_new", "PUT").get_response(app).status_int == 405
    assert req("/v1/AUTH_new", "DELETE").get_response(app).status_int == 405
    resp = req("/v1/AUTH_new", "POST", headers={"X-Account-Meta-Color": "red"}
               ).get_response(app)
    assert resp.status_int == 204
    resp = req("/v1/AUTH_new", "HEAD").get_response(app)
    assert resp.headers["X-Account-Meta-Color"] == "red"
    managed = cluster.make_proxy(allow_account_management=True, account_autocreate=False)
    assert req("/v1/AUTH_other", "HEAD").get_response(managed).status_int == 404
    assert req("/v1/AUTH_other", "PUT").get_response(managed).status_int == 201
    assert req("/v1/AUTH_other", "HEAD").get_response(managed).status_int == 204


def test_deleted_account_is_gone_not_autocreated(cluster):
    managed = cluster.make_proxy(allow_account_management=True, account_autocreate=True)
    assert req("/v1/AUTH_doomed", "PUT").get_response(managed).status_int == 201
    assert req("/v1/AUTH_doomed", "DELETE").get_response(managed).status_int == 204
    for method in ("HEAD", "GET"):
        resp = req("/v1/AUTH_doomed", method).get_response(managed)
        assert resp.status_int == 410, method
        assert resp.headers["X-Account-Status"] == "Deleted"
    # a name never written is still the empty account autocreate shows
    assert req("/v1/AUTH_never", "HEAD").get_response(managed).status_int == 204


def test_container_lifecycle(cluster):
    app = cluster.proxy
    resp = req("/v1/%s/%s" % (ACCOUNT, "c" * 257), "PUT").get_response(app)
    assert resp.status_int == 400 and b"longer than 256" in resp.body
    for unaddressable in ("%20", ".", "..", "%20%20%09"):
        resp = req("/v1/%s/%s" % (ACCOUNT, unaddressable), "PUT").get_response(app)
        assert resp.status_int == 400 and b"is not allowed" in resp.body, unaddressable
    resp = req("/v1/%s/p" % ACCOUNT, "PUT", headers={"X-Storage-Policy": "gold"}
               ).get_response(app)
    assert resp.status_int == 400 and b"X-Storage-Policy" in resp.body
    assert req("/v1/%s/c" % ACCOUNT, "PUT").get_response(app).status_int == 201
    assert req("/v1/%s/c" % ACCOUNT, "PUT").get_response(app).status_int == 202
    resp = req("/v1/%s/c" % ACCOUNT, "POST", headers={"X-Container-Meta-A": "1"}
               ).get_response(app)
    assert resp.status_int == 204
    resp = req("/v1/%s/c" % ACCOUNT, "HEAD").get_response(app)
    assert resp.headers["X-Container-Meta-A"] == "1"
    assert resp.headers["X-Storage-Policy"] == "Policy-0"
    assert req("/v1/%s/c?limit=10001" % ACCOUNT).get_response(app).status_int == 412
    assert req("/v1/%s/c/o" % ACCOUNT, "PUT", body=b"x").get_response(app).status_int == 201
    resp = req("/v1/%s/c?format=json" % ACCOUNT).get_response(app)
    assert [row["name"] for row in json.loads(resp.body)] == ["o"]
    assert req("/v1/%s/c" % ACCOUNT, "DELETE").get_response(app).status_int == 409
    assert req("/v1/%s/c/o" % ACCOUNT, "DELETE").get_response(app).status_int == 204
    assert req("/v1/%s/c" % ACCOUNT, "DELETE").get_response(app).status_int == 204
    assert req("/v1/%s/c" % ACCOUNT, "HEAD").get_response(app).status_int == 404
    assert req("/v1/%s/c" % ACCOUNT, "DELETE").get_response(app).status_int == 404


def test_backend_headers_from_clients_and_nodes_are_stripped(cluster):
    app = cluster.proxy
    assert req("/v1/%s/c" % ACCOUNT, "PUT").get_response(app).status_int == 201
    for node in cluster.nodes:
        node.object.requests.clear()
    resp = req("/v1/%s/c/o" % ACCOUNT, "PUT", body=b"x",
               headers={"X-Backend-Storage-Policy-Index": "7"}).get_response(app)
    assert resp.status_int == 201
    seen = [h for node in cluster.nodes for m, _p, h in node.object.requests if m == "PUT"]
    assert {h["X-Backend-Storage-Policy-Index"] for h in seen} == {"0"}
    for method in ("GET", "HEAD"):
        for path in ("/v1/%s/c/o", "/v1/%s/c", "/v1/%s"):
            resp = req(path % ACCOUNT, method).get_response(app)
            assert not [k for k in resp.headers if k.lower().startswith("x-backend")]


class RecordingAuth:
    """Plays the auth middleware: denies unless ``req.acl`` names the user."""

    def __init__(self, user, owner=False):
        self.user = user
        self.owner = owner
        self.calls = []

    def __call__(self, request):
        self.calls.append((request.method, request.path_info, getattr(request, "acl", None)))
        if self.owner:
            request.environ["swift_owner"] = True
            return None
        if request.acl and self.user in request.acl.split(","):
            return None
        from webob import Response
        return Response(status=403, body=b"Forbidden")


def test_acl_hook_contract(cluster):
    app = cluster.proxy
    owner = RecordingAuth("owner", owner=True)
    resp = req("/v1/%s/shared" % ACCOUNT, "PUT",
               headers={"X-Container-Read": "bob", "X-Container-Write": "carol"},
               environ={"swift.authorize": owner}).get_response(app)
    assert resp.status_int == 201
    assert req("/v1/%s/shared/o" % ACCOUNT, "PUT", body=b"secret",
               environ={"swift.authorize": owner}).get_response(app).status_int == 201
    bob = RecordingAuth("bob")
    resp = req("/v1/%s/shared/o" % ACCOUNT, environ={"swift.authorize": bob}
               ).get_response(app)
    assert resp.status_int == 200 and resp.body == b"secret"
    assert bob.calls[-1] == ("GET", "/v1/%s/shared/o" % ACCOUNT, "bob")
    resp = req("/v1/%s/shared/o" % ACCOUNT, "PUT", body=b"no",
               environ={"swift.authorize": bob}).get_response(app)
    assert resp.status_int == 403
    assert bob.calls[-1][2] == "carol"
    carol = RecordingAuth("carol")
    assert req("/v1/%s/shared/o2" % ACCOUNT, "PUT", body=b"ok",
               environ={"swift.authorize": carol}).get_response(app).status_int == 201
    assert req("/v1/%s/shared/o" % ACCOUNT, environ={"swift.authorize": carol}
               ).get_response(app).status_int == 403
    # container listing: the read ACL comes from the container itself
    resp = req("/v1/%s/shared" % ACCOUNT, environ={"swift.authorize": bob}).get_response(app)
    assert resp.status_int == 200
    assert "X-Container-Read" not in resp.headers, "ACLs are shown to owners only"
    resp = req("/v1/%s/shared" % ACCOUNT, environ={"swift.authorize": owner}).get_response(app)
    assert resp.headers["X-Container-Read"] == "bob"
    # override only tells other auth filters to leave the hook alone (a temp URL's
    # scoped hook); the proxy still asks it
    denier = RecordingAuth("nobody")
    resp = req("/v1/%s/shared/o" % ACCOUNT, environ={
        "swift.authorize": denier, "swift.authorize_override": True}).get_response(app)
    assert resp.status_int == 403 and denier.calls
    resp = req("/v1/%s/shared/o" % ACCOUNT, environ={
        "swift.authorize": lambda request: None, "swift.authorize_override": True}
        ).get_response(app)
    assert resp.status_int == 200


def test_non_owner_cannot_set_acls(cluster):
    app = cluster.proxy
    allow_all = lambda request: None  # noqa: E731 - allowed, but not the owner
    assert req("/v1/%s/open" % ACCOUNT, "PUT", headers={"X-Container-Read": ".r:*"},
               environ={"swift.authorize": allow_all}).get_response(app).status_int == 201
    info = info_cache.get_container_info({}, app, ACCOUNT, "open")
    assert info["status"] == 204 or info["status"] == 200
    assert info["read_acl"] is None


def test_info_cache(cluster):
    app = cluster.proxy
    resp = req("/v1/%s/cached" % ACCOUNT, "PUT",
               headers={"X-Container-Meta-Color": "blue"}).get_response(app)
    assert resp.status_int == 201
    environ = {}
    info = info_cache.get_container_info(environ, app, ACCOUNT, "cached")
    assert 200 <= info["status"] < 300
    assert info["meta"]["color"] == "blue"
    assert info["storage_policy"] == "0"
    assert environ["objstore.infocache"]["container/%s/cached" % ACCOUNT] is info
    account = info_cache.get_account_info({}, app, ACCOUNT)
    assert account["status"] in (200, 204)
    # a second lookup (new request) does not touch the container servers
    for node in cluster.nodes:
        node.container.requests.clear()
    again = info_cache.get_container_info({}, app, ACCOUNT, "cached")
    assert again["meta"]["color"] == "blue"
    assert not [r for node in cluster.nodes for r in node.container.requests]
    # this proxy's own POST invalidates
    req("/v1/%s/cached" % ACCOUNT, "POST",
        headers={"X-Container-Meta-Color": "red"}).get_response(app)
    assert info_cache.get_container_info({}, app, ACCOUNT, "cached")["meta"]["color"] == "red"
    missing = info_cache.get_container_info({}, app, ACCOUNT, "absent")
    assert missing["status"] == 404


def test_account_secrets_shown_to_owners_only(cluster):
    app = cluster.proxy
    owner = RecordingAuth("owner", owner=True)
    resp = req("/v1/%s" % ACCOUNT, "POST", headers={
        "X-Account-Meta-Temp-URL-Key": "secret", "X-Account-Meta-Plain": "p",
        "X-Account-Sysmeta-Core-Access-Control": '{"read-only":["bob"]}'},
        environ={"swift.authorize": owner}).get_response(app)
    assert resp.status_int == 204
    resp = req("/v1/%s" % ACCOUNT, "HEAD", environ={"swift.authorize": owner}).get_response(app)
    assert resp.headers["X-Account-Meta-Temp-Url-Key"] == "secret"
    assert resp.headers["X-Account-Access-Control"] == '{"read-only":["bob"]}'
    allow = lambda request: None  # noqa: E731 - allowed but not the owner
    resp = req("/v1/%s" % ACCOUNT, "HEAD", environ={"swift.authorize": allow}).get_response(app)
    assert resp.headers["X-Account-Meta-Plain"] == "p"
    assert "X-Account-Meta-Temp-Url-Key" not in resp.headers
    assert "X-Account-Access-Control" not in resp.headers
    # a non-owner cannot set the key either
    req("/v1/%s" % ACCOUNT, "POST", headers={"X-Account-Meta-Temp-URL-Key": "mine"},
        environ={"swift.authorize": allow}).get_response(app)
    resp = req("/v1/%s" % ACCOUNT, "HEAD", environ={"swift.authorize": owner}).get_response(app)
    assert resp.headers["X-Account-Meta-Temp-Url-Key"] == "secret"


def test_awkward_names_round_trip(cluster):
    from urllib.parse import quote

    app = cluster.proxy
    container, obj = "cont ainé&+", 'dir/obj é"&+-%20?#.txt'
    base = "/v1/%s/%s" % (ACCOUNT, quote(container))
    assert req(base, "PUT").get_response(app).status_int == 201
    resp = req(base + "/" + quote(obj), "PUT", body=b"odd").get_response(app)
    assert resp.status_int == 201
    resp = req(base + "/" + quote(obj)).get_response(app)
    assert resp.status_int == 200 and resp.body == b"odd"
    listing = json.loads(req(base + "?format=json").get_response(app).body)
    assert [row["name"] for row in listing] == [obj]
    names = req("/v1/%s" % ACCOUNT).get_response(app).body.decode("utf-8").split("\n")
    assert container in names


def test_versioning_headers_are_not_stored_without_versioned_writes(cluster):
    """Nothing in a bare proxy archives versions, so it must not keep the targets."""
    app = cluster.proxy
    path = "/v1/%s/unversioned" % ACCOUNT
    resp = req(path, "PUT", headers={"X-Versions-Location": "archive"}).get_response(app)
    assert resp.status_int == 201
    resp = req(path, "POST", headers={"X-History-Location": "archive"}).get_response(app)
    assert resp.status_int == 204
    app.info_cache.clear()
    resp = req(path, "HEAD").get_response(app)
    assert resp.status_int == 204
    assert "X-Versions-Location" not in resp.headers
    assert "X-History-Location" not in resp.headers

"""Unsigned path-style S3 requests and the bucket registry, in process against a
recording fake of the rest of the pipeline."""
import webob

from objstore.middleware.s3api import S3ApiMiddleware
from objstore.middleware.s3api.auth import AUTH_DETAILS_KEY
from objstore.middleware.s3api.bucket_registry import (OWNER_HEADER, REGISTRY_ACCOUNT,
                                                       REGISTRY_CONTAINER, BucketRegistry)
from objstore.middleware.s3api.config import S3ApiConfig

ROW = "/v1/%s/%s/" % (REGISTRY_ACCOUNT, REGISTRY_CONTAINER)


class FakeSwift:
    """Answers registry rows from ``owners``, containers from ``containers``
    (name -> public?), objects of public containers; records every request."""

    def __init__(self, owners=None, containers=None):
        self.owners = dict(owners or {})
        self.containers = dict(containers or {})
        self.calls = []

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        path = environ["PATH_INFO"]
        internal = bool(environ.get("swift.authorize_override"))
        self.calls.append((req.method, path, internal, AUTH_DETAILS_KEY in environ,
                           {name.lower(): value for name, value in req.headers.items()}))
        if path.startswith(ROW):
            resp = self.registry(req, path[len(ROW):])
        else:
            resp = self.account_data(req, path, internal)
        return resp(environ, start_response)

    def registry(self, req, bucket):
        if req.method == "HEAD":
            if bucket not in self.owners:
                return webob.Response(status=404)
            return webob.Response(status=200, headers={OWNER_HEADER: self.owners[bucket]})
        if req.method == "PUT":
            if req.headers.get("If-None-Match") == "*" and bucket in self.owners:
                return webob.Response(status=412)
            self.owners[bucket] = req.headers[OWNER_HEADER]
            return webob.Response(status=201)
        if req.method == "DELETE":
            self.owners.pop(bucket, None)
            return webob.Response(status=204)
        return webob.Response(status=405)

    def account_data(self, req, path, internal):
        _v1, account, container, *rest = (path.lstrip("/").split("/", 3) + ["", ""])[:4]
        key = "%s/%s" % (account, container)
        if key not in self.containers:
            return webob.Response(status=404 if internal else 401)
        if not internal and not self.containers[key]:
            return webob.Response(status=401)
        if rest and rest[0]:
            return webob.Response(status=200, body=b"object " + path.encode(),
                                  content_type="text/plain")
        return webob.Response(status=204)


def middleware(fake, clock=None):
    app = S3ApiMiddleware(fake, S3ApiConfig.of({"storage_domain": "localhost"}))
    if clock is not None:
        app.registry = BucketRegistry(fake, 10.0, clock=clock)
    return app


def unsigned(app, method, path, **headers):
    return webob.Request.blank(path, method=method, headers=headers).get_response(app)


def code(resp):
    return resp.body.split(b"<Code>")[1].split(b"</Code>")[0].decode()


def test_public_bucket_object_is_read_as_an_anonymous_request_of_its_account():
    fake = FakeSwift({"pub": "AUTH_x"}, {"AUTH_x/pub": True})
    resp = unsigned(middleware(fake), "GET", "/pub/dir/k")
    assert resp.status_int == 200 and resp.body == b"object /v1/AUTH_x/pub/dir/k"
    registry_read, read = fake.calls
    assert registry_read[:3] == ("HEAD", ROW + "pub", True)
    # the object read carries no credentials and no override: the ACL decides
    assert read[:4] == ("GET", "/v1/AUTH_x/pub/dir/k", False, False)


def test_private_bucket_is_access_denied_and_writes_are_refused_unasked():
    fake = FakeSwift({"priv": "AUTH_x", "pub": "AUTH_x"},
                     {"AUTH_x/priv": False, "AUTH_x/pub": True})
    app = middleware(fake)
    resp = unsigned(app, "GET", "/priv/k")
    assert (resp.status_int, code(resp)) == (403, "AccessDenied")
    fake.calls.clear()
    for method, path in (("PUT", "/pub/k"), ("DELETE", "/pub/k"), ("GET", "/pub?acl"),
                         ("GET", "/pub?location"), ("POST", "/pub?delete")):
        resp = unsigned(app, method, path)
        assert (resp.status_int, code(resp)) == (403, "AccessDenied"), (method, path)
    assert all(call[1] != "/v1/AUTH_x/pub/k" or call[0] == "HEAD" for call in fake.calls)
    assert not [call for call in fake.calls if call[0] in ("PUT", "DELETE", "POST")]


def test_unknown_and_vanished_buckets_are_no_such_bucket():
    fake = FakeSwift({"gone": "AUTH_x"}, {})
    app = middleware(fake)
    resp = unsigned(app, "GET", "/nobody/k")
    assert (resp.status_int, code(resp)) == (404, "NoSuchBucket")
    resp = unsigned(app, "GET", "/gone/k")
    assert (resp.status_int, code(resp)) == (404, "NoSuchBucket")


def test_response_overrides_are_refused_for_anonymous_gets():
    fake = FakeSwift({"pub": "AUTH_x"}, {"AUTH_x/pub": True})
    resp = unsigned(middleware(fake), "GET", "/pub/k?response-content-type=x")
    assert (resp.status_int, code(resp)) == (400, "InvalidRequest")


def test_swift_paths_and_token_requests_pass_untouched():
    fake = FakeSwift()
    app = middleware(fake)
    for path in ("/info", "/auth/v1.0", "/v1/AUTH_x/c/o", "/v1.0", "/healthcheck", "/"):
        unsigned(app, "GET", path)
    unsigned(app, "GET", "/bucket/k", **{"X-Auth-Token": "AUTH_tk"})
    unsigned(app, "GET", "/k", Host="site.auth-test.localhost")
    # each went to the pipeline as it came, with no registry lookup
    assert [call[1] for call in fake.calls] == [
        "/info", "/auth/v1.0", "/v1/AUTH_x/c/o", "/v1.0", "/healthcheck", "/", "/bucket/k",
        "/k"]


def test_lookups_are_cached_for_the_ttl_absence_too():
    now = [100.0]
    fake = FakeSwift({"pub": "AUTH_x"}, {"AUTH_x/pub": True})
    app = middleware(fake, clock=lambda: now[0])
    for _ in range(3):
        unsigned(app, "GET", "/pub/k")
        unsigned(app, "GET", "/none/k")
    heads = [call for call in fake.calls if call[1].startswith(ROW)]
    assert len(heads) == 2
    now[0] += 11
    unsigned(app, "GET", "/pub/k")
    assert len([call for call in fake.calls if call[1].startswith(ROW)]) == 3


def test_claim_takes_a_free_name_only_if_still_free():
    fake = FakeSwift({}, {"AUTH_b/taken": True})
    registry = BucketRegistry(fake, 10.0)
    assert registry.claim({}, "free", "AUTH_a") is None
    put = [call for call in fake.calls if call[0] == "PUT"][0]
    assert put[4]["if-none-match"] == "*" and put[4][OWNER_HEADER.lower()] == "AUTH_a"
    assert registry.claim({}, "free", "AUTH_a") is None       # ours already
    fake.owners["taken"] = "AUTH_b"
    assert registry.claim({}, "taken", "AUTH_a") == "AUTH_b"  # a live bucket of another
    assert fake.owners["taken"] == "AUTH_b"


def test_claim_overwrites_a_row_whose_bucket_is_gone_and_release_only_ones_own():
    fake = FakeSwift({"stale": "AUTH_b"}, {})
    registry = BucketRegistry(fake, 10.0)
    assert registry.claim({}, "stale", "AUTH_a") is None
    put = [call for call in fake.calls if call[0] == "PUT"][0]
    assert "if-none-match" not in put[4]
    assert fake.owners["stale"] == "AUTH_a"
    registry.release({}, "stale", "AUTH_b")
    assert fake.owners["stale"] == "AUTH_a"
    registry.release({}, "stale", "AUTH_a")
    assert "stale" not in fake.owners


def test_a_lost_race_for_a_free_name_reports_the_winner():
    class Racing(FakeSwift):
        def registry(self, req, bucket):
            if req.method == "PUT" and req.headers.get("If-None-Match") == "*":
                self.owners[bucket] = "AUTH_winner"   # landed just before ours
            return super().registry(req, bucket)
    fake = Racing({}, {"AUTH_winner/race": True})
    assert BucketRegistry(fake, 10.0).claim({}, "race", "AUTH_a") == "AUTH_winner"

"""Tempauth against a fake proxy that keeps Swift's authorize contract."""
import logging

import pytest
import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.common.path_hash import PathHasher
from objstore.middleware import tempauth
from objstore.middleware.acl import clean_acl

AIO_CONF = {
    "reseller_prefix": "AUTH, SERVICE",
    "SERVICE_require_group": "service",
    "user_admin_admin": "admin .admin .reseller_admin",
    "user_test_tester": "testing .admin",
    "user_test_tester2": "testing2 .admin",
    "user_test_tester3": "testing3",
    "user_test2_tester2": "testing2 .admin",
    "user_test5_tester5": "testing5 service",
}
KEYS = {"admin:admin": "admin", "test:tester": "testing", "test:tester2": "testing2",
        "test:tester3": "testing3", "test2:tester2": "testing2", "test5:tester5": "testing5"}


class FakeProxy:
    """Mimics the proxy's side of the contract.

    For container/object requests it sets ``req.acl`` to the container's read
    or write ACL, then calls ``environ['swift.authorize'](req)``; account HEAD
    sub-requests from tempauth get the stored account ACL sysmeta.
    """

    def __init__(self, container_acls=None, account_acl=None):
        self.container_acls = container_acls or {}
        self.account_acl = account_acl or {}
        self.seen = []
        self.subrequests = []

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        parts = req.path_info.split("/", 4)[1:] + [None] * 4
        _version, account, container, obj = parts[:4]
        if environ.get("swift.authorize_override"):
            self.subrequests.append((req.method, req.path_info, environ.get("swift.source")))
            resp = webob.Response(status=204)
            if account in self.account_acl:
                resp.headers["X-Account-Sysmeta-Core-Access-Control"] = self.account_acl[account]
            return resp(environ, start_response)
        authorize = environ.get("swift.authorize")
        if authorize is not None:
            acls = self.container_acls.get((account, container), {})
            reading = req.method in ("GET", "HEAD")
            if obj:
                req.acl = acls.get("read" if reading else "write")
            elif container and reading:
                req.acl = acls.get("read")
            else:
                req.acl = None
            denial = authorize(req)
            if denial is not None:
                return denial(environ, start_response)
        self.seen.append({"path": req.path_info, "method": req.method,
                          "owner": bool(environ.get("swift_owner")),
                          "remote_user": environ.get("REMOTE_USER"),
                          "headers": dict(req.headers)})
        return webob.Response(status=200, body=b"ok")(environ, start_response)


class Clock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def make_auth(conf=None, proxy=None, clock=None, hasher=HASHER):
    proxy = proxy or FakeProxy()
    return tempauth.TempAuth(proxy, dict(AIO_CONF if conf is None else conf),
                             clock=clock or Clock(), hasher=hasher), proxy


def get_token(auth, account_user, key, path="/auth/v1.0", host="proxy.example.com:8080",
              **extra_headers):
    headers = {"X-Auth-User": account_user, "X-Auth-Key": key, "Host": host}
    headers.update(extra_headers)
    return webob.Request.blank(path, headers=headers).get_response(auth)


def token_for(auth, account_user):
    resp = get_token(auth, account_user, KEYS[account_user])
    assert resp.status_int == 200, resp.status
    return resp.headers["X-Auth-Token"]


def call(auth, path, token=None, method="GET", **headers):
    if token:
        headers["X-Auth-Token"] = token
    return webob.Request.blank(path, method=method, headers=headers).get_response(auth)


# -- tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("account_user", sorted(KEYS))
def test_every_default_user_gets_a_token_and_storage_url(account_user):
    auth, _ = make_auth()
    resp = get_token(auth, account_user, KEYS[account_user])
    assert resp.status_int == 200
    token = resp.headers["X-Auth-Token"]
    assert token.startswith("AUTH_tk")
    assert resp.headers["X-Storage-Token"] == token
    account = account_user.split(":")[0]
    assert resp.headers["X-Storage-Url"] == "http://proxy.example.com:8080/v1/AUTH_%s" % account
    assert resp.headers["X-Auth-Token-Expires"] == "86400"


def test_token_lets_admin_own_its_account_and_sets_remote_user():
    auth, proxy = make_auth()
    token = token_for(auth, "test:tester")
    resp = call(auth, "/v1/AUTH_test/c/o", token)
    assert resp.status_int == 200
    assert proxy.seen[-1]["owner"] is True
    assert proxy.seen[-1]["remote_user"] == "test,test:tester,AUTH_test,SERVICE_test"


def test_storage_url_follows_host_header_and_scheme():
    auth, _ = make_auth()
    for host in ("127.0.0.1:8080", "storage.example.org"):
        resp = get_token(auth, "test:tester", "testing", host=host)
        assert resp.headers["X-Storage-Url"] == "http://%s/v1/AUTH_test" % host
    req = webob.Request.blank("/auth/v1.0", headers={
        "X-Auth-User": "test:tester", "X-Auth-Key": "testing", "Host": "secure.example.org"})
    req.environ["wsgi.url_scheme"] = "https"
    assert req.get_response(auth).headers["X-Storage-Url"] == \
        "https://secure.example.org/v1/AUTH_test"


def test_storage_url_from_user_line_or_forced_scheme():
    conf = dict(AIO_CONF, user_test_tester="testing .admin http://example.com:8080/v1/AUTH_test")
    auth, _ = make_auth(conf)
    resp = get_token(auth, "test:tester", "testing", host="elsewhere:1")
    assert resp.headers["X-Storage-Url"] == "http://example.com:8080/v1/AUTH_test"
    auth, _ = make_auth(dict(AIO_CONF, storage_url_scheme="https"))
    resp = get_token(auth, "test:tester", "testing", host="h:8080")
    assert resp.headers["X-Storage-Url"] == "https://h:8080/v1/AUTH_test"


def test_other_auth_paths_and_storage_headers():
    auth, _ = make_auth()
    for path in ("/auth/v1.0", "/auth/v1/", "/auth/v1", "/v1.0", "/auth/auth"):
        assert get_token(auth, "test:tester", "testing", path=path).status_int == 200, path
    req = webob.Request.blank("/auth/v1/test/auth", headers={
        "X-Storage-User": "tester", "X-Storage-Pass": "testing"})
    resp = req.get_response(auth)
    assert resp.status_int == 200
    assert resp.headers["X-Storage-Url"].endswith("/v1/AUTH_test")
    req = webob.Request.blank("/auth/v1/test2/auth", headers={
        "X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
    assert req.get_response(auth).status_int == 401


def test_bad_credentials():
    auth, _ = make_auth()
    resp = get_token(auth, "test:tester", "wrong")
    assert resp.status_int == 401
    assert resp.headers["Www-Authenticate"] == 'Swift realm="test"'
    assert "X-Auth-Token" not in resp.headers
    assert get_token(auth, "test:nobody", "testing").status_int == 401
    assert get_token(auth, "test:tester", "").status_int == 401
    resp = get_token(auth, "testtester", "testing")          # no account:user form
    assert resp.status_int == 401 and b"<account>:<user>" in resp.body
    resp = webob.Request.blank("/auth/v1.0", headers={"X-Auth-Key": "testing"}).get_response(auth)
    assert resp.status_int == 401
    resp = webob.Request.blank("/auth/v1.0", method="POST", headers={
        "X-Auth-User": "test:tester", "X-Auth-Key": "testing"}).get_response(auth)
    assert resp.status_int == 405
    assert webob.Request.blank("/auth/nope").get_response(auth).status_int == 404


def test_token_expires():
    clock = Clock()
    auth, _ = make_auth(clock=clock)
    token = token_for(auth, "test:tester")
    clock.now += 86399
    assert call(auth, "/v1/AUTH_test", token).status_int == 200
    clock.now += 2
    resp = call(auth, "/v1/AUTH_test", token)
    assert resp.status_int == 401
    assert resp.headers["Www-Authenticate"] == 'Swift realm="AUTH_test"'


def test_token_life_config():
    clock = Clock()
    auth, _ = make_auth(dict(AIO_CONF, token_life="60"), clock=clock)
    resp = get_token(auth, "test:tester", "testing")
    assert resp.headers["X-Auth-Token-Expires"] == "60"
    clock.now += 61
    assert call(auth, "/v1/AUTH_test", resp.headers["X-Auth-Token"]).status_int == 401


def test_token_works_on_another_worker_and_after_restart():
    first, _ = make_auth()
    token = token_for(first, "test:tester")
    second, proxy = make_auth()     # a new process built from the same config
    assert call(second, "/v1/AUTH_test/c", token).status_int == 200
    assert proxy.seen[-1]["owner"] is True


def test_explicit_token_secret_is_shared_and_checked():
    conf = dict(AIO_CONF, token_secret="s3cret")
    token = token_for(make_auth(conf)[0], "test:tester")
    assert call(make_auth(conf)[0], "/v1/AUTH_test", token).status_int == 200
    other = dict(AIO_CONF, token_secret="different")
    assert call(make_auth(other)[0], "/v1/AUTH_test", token).status_int == 401
    # Without token_secret the key derives from the cluster salt.
    derived = token_for(make_auth()[0], "test:tester")
    other_cluster = PathHasher.from_salt("other-prefix", "other-suffix")
    assert call(make_auth(hasher=other_cluster)[0], "/v1/AUTH_test", derived).status_int == 401
    with pytest.raises(ConfigError, match="token_secret"):
        make_auth(hasher=None)


def test_removed_user_or_changed_key_invalidates_token():
    token = token_for(make_auth()[0], "test:tester")
    removed = {k: v for k, v in AIO_CONF.items() if k != "user_test_tester"}
    assert call(make_auth(removed)[0], "/v1/AUTH_test", token).status_int == 401
    rekeyed = dict(AIO_CONF, user_test_tester="newkey .admin")
    assert call(make_auth(rekeyed)[0], "/v1/AUTH_test", token).status_int == 401


def test_tampered_token_is_rejected():
    auth, _ = make_auth()
    token = token_for(auth, "test:tester3")
    payload, signature = token[len("AUTH_tk"):].split(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    for forged in ("AUTH_tk" + forged_payload + "." + signature, token[:-1] + "x",
                   "AUTH_tk" + payload, "AUTH_tkgarbage", token + "."):
        assert call(auth, "/v1/AUTH_test", forged).status_int == 401, forged


def test_group_change_takes_effect_without_new_token():
    token = token_for(make_auth()[0], "test:tester")
    demoted = dict(AIO_CONF, user_test_tester="testing")
    assert call(make_auth(demoted)[0], "/v1/AUTH_test/c", token).status_int == 403


def _counting_verify(auth):
    checks = []
    verify = auth.signer.verify

    def counted(token):
        checks.append(token)
        return verify(token)
    auth.signer.verify = counted
    return checks


def test_a_token_is_checked_once_then_remembered():
    auth, _ = make_auth()
    token = token_for(auth, "test:tester")
    checks = _counting_verify(auth)
    for _ in range(3):
        assert call(auth, "/v1/AUTH_test/c", token).status_int == 200
    assert checks == [token]


def test_a_remembered_token_stops_when_its_user_entry_changes():
    auth, _ = make_auth()
    token = token_for(auth, "test:tester")
    assert call(auth, "/v1/AUTH_test/c", token).status_int == 200
    rekeyed = make_auth(dict(AIO_CONF, user_test_tester="newkey .admin"))[0]
    auth.users["test:tester"] = rekeyed.users["test:tester"]
    assert call(auth, "/v1/AUTH_test/c", token).status_int == 401


def test_forged_tokens_are_not_remembered_and_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(tempauth, "CHECKED_TOKENS_KEPT", 2)
    auth, _ = make_auth()
    tokens = [token_for(auth, user) for user in ("test:tester", "test2:tester2",
                                                  "test:tester3")]
    for forged in ("AUTH_tkgarbage", tokens[0][:-1] + "x"):
        assert call(auth, "/v1/AUTH_test", forged).status_int == 401
    assert len(auth._checked_tokens) == 0
    for token in tokens:
        call(auth, "/v1/AUTH_test", token)
    assert len(auth._checked_tokens) == 2
    checks = _counting_verify(auth)
    assert call(auth, "/v1/AUTH_test", tokens[0]).status_int == 200  # checked again
    assert checks == [tokens[0]]


# -- authorization ----------------------------------------------------------------------------

def test_non_admin_needs_acl():
    proxy = FakeProxy()
    auth, _ = make_auth(proxy=proxy)
    token3 = token_for(auth, "test:tester3")
    assert call(auth, "/v1/AUTH_test", token3).status_int == 403
    assert call(auth, "/v1/AUTH_test/c/o", token3).status_int == 403
    proxy.container_acls[("AUTH_test", "c")] = {"read": "test:tester3", "write": "test"}
    assert call(auth, "/v1/AUTH_test/c/o", token3).status_int == 200
    assert proxy.seen[-1]["owner"] is False
    assert call(auth, "/v1/AUTH_test/c/o", token3, method="PUT").status_int == 200
    # Container-level writes stay owner-only (the proxy passes no ACL for them).
    assert call(auth, "/v1/AUTH_test/c", token3, method="POST").status_int == 403


def test_other_accounts_container_is_forbidden_until_acl_grants_it():
    proxy = FakeProxy()
    auth, _ = make_auth(proxy=proxy)
    token = token_for(auth, "test2:tester2")
    assert call(auth, "/v1/AUTH_test/c/o", token).status_int == 403
    assert call(auth, "/v1/AUTH_test", token).status_int == 403
    proxy.container_acls[("AUTH_test", "c")] = {"read": "test2"}
    assert call(auth, "/v1/AUTH_test/c/o", token).status_int == 200
    proxy.container_acls[("AUTH_test", "c")] = {"read": "AUTH_test2"}
    assert call(auth, "/v1/AUTH_test/c", token).status_int == 200
    assert call(auth, "/v1/AUTH_test/c/o", token, method="DELETE").status_int == 403


def test_anonymous_requests_and_referrer_acls():
    proxy = FakeProxy()
    auth, _ = make_auth(proxy=proxy)
    resp = call(auth, "/v1/AUTH_test/c/o")
    assert resp.status_int == 401
    assert resp.headers["Www-Authenticate"] == 'Swift realm="AUTH_test"'
    proxy.container_acls[("AUTH_test", "c")] = {"read": ".r:*"}
    assert call(auth, "/v1/AUTH_test/c/o").status_int == 200
    assert call(auth, "/v1/AUTH_test/c").status_int == 401          # no .rlistings
    assert call(auth, "/v1/AUTH_test/c/o", method="PUT").status_int == 401
    proxy.container_acls[("AUTH_test", "c")] = {"read": ".r:*,.rlistings"}
    assert call(auth, "/v1/AUTH_test/c").status_int == 200
    proxy.container_acls[("AUTH_test", "c")] = {"read": ".r:*,.r:-bad.example.com"}
    assert call(auth, "/v1/AUTH_test/c/o",
                Referer="http://bad.example.com/page").status_int == 401
    assert call(auth, "/v1/AUTH_test/c/o",
                Referer="http://good.example.com/page").status_int == 200
    proxy.container_acls[("AUTH_test", "c")] = {"read": ".r:.example.com"}
    assert call(auth, "/v1/AUTH_test/c/o", Referer="http://www.example.com/").status_int == 200
    assert call(auth, "/v1/AUTH_test/c/o", Referer="http://example.org/").status_int == 401
    assert call(auth, "/v1/AUTH_test/c/o").status_int == 401


def test_reseller_admin_reaches_every_account():
    proxy = FakeProxy()
    auth, _ = make_auth(proxy=proxy)
    token = token_for(auth, "admin:admin")
    for path in ("/v1/AUTH_test", "/v1/AUTH_test2/c/o", "/v1/SERVICE_test"):
        assert call(auth, path, token).status_int == 200, path
        assert proxy.seen[-1]["owner"] is True
    assert call(auth, "/v1/AUTH_newacct", token, method="PUT").status_int == 200
    assert call(auth, "/v1/AUTH_.hidden", token).status_int == 403
    assert call(auth, "/v1/AUTH_", token).status_int == 403


def test_account_put_and_delete_only_for_reseller_admin():
    auth, _ = make_auth()
    token = token_for(auth, "test:tester")
    assert call(auth, "/v1/AUTH_test", token, method="PUT").status_int == 403
    assert call(auth, "/v1/AUTH_test", token, method="DELETE").status_int == 403
    assert call(auth, "/v1/AUTH_test", token, method="POST").status_int == 200
    admin = token_for(auth, "admin:admin")
    assert call(auth, "/v1/AUTH_test", admin, method="DELETE").status_int == 200


def test_service_prefix_needs_user_and_service_token():
    auth, proxy = make_auth()
    user_token = token_for(auth, "test:tester")
    service_token = token_for(auth, "test5:tester5")
    assert call(auth, "/v1/SERVICE_test/c", user_token).status_int == 403
    resp = call(auth, "/v1/SERVICE_test/c", user_token, **{"X-Service-Token": service_token})
    assert resp.status_int == 200
    assert proxy.seen[-1]["owner"] is True
    not_service = token_for(auth, "test:tester3")
    assert call(auth, "/v1/SERVICE_test/c", user_token,
                **{"X-Service-Token": not_service}).status_int == 403
    # A service token alone, or from the wrong account's user, is not enough.
    assert call(auth, "/v1/SERVICE_test5/c", service_token).status_int == 403
    assert call(auth, "/v1/SERVICE_test/c", None,
                **{"X-Service-Token": service_token}).status_int == 401
    assert call(auth, "/v1/SERVICE_test/c", token_for(auth, "test2:tester2"),
                **{"X-Service-Token": service_token}).status_int == 403
    # The AUTH_ account needs no service token.
    assert call(auth, "/v1/AUTH_test/c", user_token).status_int == 200


def test_foreign_prefix_is_left_to_other_auth():
    auth, proxy = make_auth()
    other_authorize = lambda req: None  # noqa: E731
    req = webob.Request.blank("/v1/KEY_acct/c", headers={"X-Auth-Token": "KEY_tkabc"})
    req.environ["swift.authorize"] = other_authorize
    assert req.get_response(auth).status_int == 200
    assert req.environ["swift.authorize"] is other_authorize
    # Nobody else claimed it: denied.
    assert call(auth, "/v1/KEY_acct/c", "KEY_tkabc").status_int == 401
    token = token_for(auth, "test:tester")
    assert call(auth, "/v1/KEY_acct/c", token).status_int == 403


def test_authorize_override_skips_auth():
    auth, proxy = make_auth()
    req = webob.Request.blank("/v1/AUTH_test/c")
    req.environ["swift.authorize_override"] = True
    assert req.get_response(auth).status_int == 204   # fake proxy treats it as a sub-request


def test_account_acls():
    proxy = FakeProxy(account_acl={"AUTH_test": '{"read-only":["test:tester3"]}'})
    auth, _ = make_auth(proxy=proxy)
    token3 = token_for(auth, "test:tester3")
    assert call(auth, "/v1/AUTH_test", token3).status_int == 200
    assert call(auth, "/v1/AUTH_test/c/o", token3).status_int == 200
    assert call(auth, "/v1/AUTH_test/c/o", token3, method="PUT").status_int == 403
    assert ("HEAD", "/v1/AUTH_test", "TA") in proxy.subrequests
    proxy.account_acl["AUTH_test"] = '{"read-write":["test:tester3"]}'
    assert call(auth, "/v1/AUTH_test/c/o", token3, method="PUT").status_int == 200
    assert call(auth, "/v1/AUTH_test", token3, method="POST").status_int == 403
    proxy.account_acl["AUTH_test"] = '{"admin":["test:tester3"]}'
    assert call(auth, "/v1/AUTH_test", token3, method="POST").status_int == 200
    assert proxy.seen[-1]["owner"] is True


# What each account ACL level lets a user do, per target and verb (Swift's grants).
ACL_TARGETS = ("/v1/AUTH_test", "/v1/AUTH_test/c", "/v1/AUTH_test/c/o")
ACL_GRANTS = {
    "read-only": {target: {"GET", "HEAD", "OPTIONS"} for target in ACL_TARGETS},
    "read-write": {"/v1/AUTH_test": {"GET", "HEAD", "OPTIONS"},
                   "/v1/AUTH_test/c": {"GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE"},
                   "/v1/AUTH_test/c/o": {"GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE"}},
    "admin": {target: {"GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE"}
              for target in ACL_TARGETS},
}


@pytest.mark.parametrize("level", sorted(ACL_GRANTS))
def test_account_acl_levels_grant_what_swift_grants(level):
    proxy = FakeProxy(account_acl={"AUTH_test": '{"%s":["test:tester3"]}' % level})
    auth, _ = make_auth(proxy=proxy)
    token3 = token_for(auth, "test:tester3")
    for target in ACL_TARGETS:
        for method in ("GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE"):
            status = call(auth, target, token3, method=method).status_int
            allowed = method in ACL_GRANTS[level][target]
            assert status == (200 if allowed else 403), (level, target, method)
            if method != "OPTIONS" and allowed:
                assert proxy.seen[-1]["owner"] is (level == "admin"), (target, method)


def test_empty_account_acl_clears_it():
    auth, proxy = make_auth()
    token = token_for(auth, "test:tester")
    for empty in ("{}", "", '{"admin":[]}'):
        resp = call(auth, "/v1/AUTH_test", token, method="POST",
                    **{"X-Account-Access-Control": empty})
        assert resp.status_int == 200
        assert proxy.seen[-1]["headers"]["X-Account-Sysmeta-Core-Access-Control"] == ""


def test_account_acl_header_is_checked_and_stored_as_sysmeta():
    auth, proxy = make_auth()
    token = token_for(auth, "test:tester")
    resp = call(auth, "/v1/AUTH_test", token, method="POST",
                **{"X-Account-Access-Control": '{"bogus":["x"]}'})
    assert resp.status_int == 400
    assert b"bogus" in resp.body
    assert call(auth, "/v1/AUTH_test", token, method="POST",
                **{"X-Account-Access-Control": "not json"}).status_int == 400
    resp = call(auth, "/v1/AUTH_test", token, method="POST",
                **{"X-Account-Access-Control": '{"read-only": ["test:tester3"]}'})
    assert resp.status_int == 200
    headers = proxy.seen[-1]["headers"]
    assert "X-Account-Access-Control" not in headers
    assert headers["X-Account-Sysmeta-Core-Access-Control"] == '{"read-only":["test:tester3"]}'


def test_clean_acl_installed_and_normalises():
    auth, _ = make_auth()
    req = webob.Request.blank("/v1/AUTH_test/c")
    req.get_response(auth)
    assert req.environ["swift.clean_acl"] is clean_acl
    assert clean_acl("X-Container-Read", " .ref:*.example.com , test:tester3,,.rlistings") == \
        ".r:.example.com,test:tester3,.rlistings"
    assert clean_acl("X-Container-Read", ".r:-bad.com") == ".r:-bad.com"
    with pytest.raises(ValueError):
        clean_acl("X-Container-Write", ".r:*")
    with pytest.raises(ValueError):
        clean_acl("X-Container-Read", ".bogus:x")
    with pytest.raises(ValueError):
        clean_acl("X-Container-Read", ".r:")


def test_user64_and_bad_user_lines():
    conf = {"user64_dW5kZXJfc2NvcmU_YV9i": "testing4 .admin"}   # under_score : a_b
    auth, proxy = make_auth(conf)
    resp = get_token(auth, "under_score:a_b", "testing4")
    assert resp.status_int == 200
    assert resp.headers["X-Storage-Url"].endswith("/v1/AUTH_under_score")
    assert call(auth, "/v1/AUTH_under_score", resp.headers["X-Auth-Token"]).status_int == 200
    with pytest.raises(ConfigError):
        make_auth({"user_a_b_c": "key"})
    with pytest.raises(ConfigError):
        make_auth({"user_a_b": ""})


def test_filter_factory_registers_capability():
    cluster = ClusterConfig.build("test-prefix", "test-suffix")
    factory = tempauth.filter_factory(cluster, {}, **AIO_CONF)
    auth = factory(FakeProxy())
    assert isinstance(auth, tempauth.TempAuth)
    assert cluster.capabilities.as_info()["tempauth"] == {"account_acls": True}
    assert auth.signer is not None and auth.hasher is cluster.hasher


def test_user_lines_are_typed_options():
    """A misspelled option is refused; user and require_group lines are checked at start."""
    with pytest.raises(ConfigError, match=r"unknown option 'token_lief' \(did you mean "
                                          r"'token_life'\?\)"):
        make_auth(dict(AIO_CONF, token_lief="5"))
    with pytest.raises(ConfigError, match="names no reseller prefix"):
        make_auth(dict(AIO_CONF, OTHER_require_group="g"))
    conf = tempauth.TempAuthConfig.from_section(AIO_CONF)
    assert set(conf.users) == set(KEYS)
    assert conf.named["SERVICE_require_group"] == "service"


def test_keys_and_tokens_never_logged():
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect()
    handler.setLevel(logging.DEBUG)
    auth, _ = make_auth()
    logger = auth.logger
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        tokens = [token_for(auth, user) for user in KEYS]
        get_token(auth, "test:tester", "wrong-secret-key")
        get_token(auth, "test:nobody", "another-secret")
        for token in tokens:
            call(auth, "/v1/AUTH_test/c", token)
        call(auth, "/v1/AUTH_test/c", tokens[0][:-2] + "zz")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    text = "\n".join(records)
    assert "issued token" in text and "token denied" in text
    # ("admin" is also that user's name, so it legitimately appears.)
    secrets = [key for key in KEYS.values() if key != "admin"]
    for secret in secrets + ["wrong-secret-key", "another-secret"]:
        assert secret not in text
    for token in tokens:
        assert token not in text and token[7:30] not in text
    assert "testing" not in repr(auth.users)

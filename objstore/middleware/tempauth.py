"""Tempauth: Swift's built-in authentication, with tokens that need no cache.

Two jobs, as in Swift:

* **Authentication.**  ``GET /auth/v1.0`` (also ``/auth/v1/<account>/auth``,
  ``/auth/v1``, ``/auth/auth`` and a bare ``/v1.0``) trades ``X-Auth-User:
  account:user`` + ``X-Auth-Key`` for a token and the storage URL.  Tokens
  are signed, self-contained claims (see :mod:`objstore.middleware.auth_token`),
  so every proxy worker accepts them, before and after restarts, with no
  memcached.  A request's ``X-Auth-Token`` is checked here; a valid one sets
  ``REMOTE_USER`` to the user's groups, Swift style::

      test,test:tester,AUTH_test,SERVICE_test      (.admin expands to account ids)

* **Authorization.**  The proxy, once it knows which container ACL applies,
  calls ``environ['swift.authorize'](req)`` (with ``req.acl`` set) and gets
  ``None`` (go on) or a 401/403 response.  Owners get
  ``environ['swift_owner'] = True`` so the proxy lets them see and change
  ACL headers.  ``environ['swift.clean_acl']`` normalises ACLs before the
  proxy stores them.

With several reseller prefixes (``reseller_prefix = AUTH, SERVICE``) a
``<PREFIX>_require_group`` option makes the owner of that prefix's accounts
also present a service token (``X-Service-Token``) from a user in that group.
Requests for accounts under other prefixes are left to whichever auth owns
them; if none claims them, they are denied.
"""
from __future__ import annotations

import dataclasses
import hmac
import time
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional
from urllib.parse import quote, unquote

import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.http_response import plain_response as _plain_response
from objstore.common.http_text import str_to_bytes, str_to_wsgi, wsgi_to_str
from objstore.common.logs import get_logger
from objstore.common.path_hash import PathHasher
from objstore.common.pipeline import typed_factory
from objstore.middleware import acl
from objstore.middleware.auth_token import TokenSigner, secret_from_config
from objstore.middleware.request_path import split_swift_path
from objstore.middleware.s3api.auth import AUTH_DETAILS_KEY as S3_AUTH_DETAILS_KEY
from objstore.middleware.tempauth_users import (
    ADMIN_GROUP, RESELLER_ADMIN_GROUP, HOST_PLACEHOLDER, TempAuthUser, parse_users)

ACCOUNT_ACL_HEADER = "X-Account-Access-Control"
ACCOUNT_ACL_SYSMETA = "X-Account-Sysmeta-Core-Access-Control"
_ACCOUNT_ACL_CACHE = "objstore.tempauth.account_acl"
# Per-request info caches the proxy (ours, or Swift-style) fills on HEAD sub-requests.
INFOCACHE_KEYS = ("objstore.infocache", "swift.infocache")
# Compared against when the user does not exist, so "no such user" and
# "wrong key" take the same time.
_DUMMY_KEY = "objstore-no-such-user-" + "x" * 16
# Tokens remembered after a successful check; past this the oldest is dropped.
CHECKED_TOKENS_KEPT = 4096


@dataclasses.dataclass
class TempAuthConfig(ConfigSection):
    # The user table (user_<account>_<user>, user64_...) and per-prefix
    # <PREFIX>_require_group lines: option names that carry data, kept in ``named``.
    named_options: ClassVar[tuple[str, ...]] = (r"user_.+", r"user64_.+", r".+_require_group")

    reseller_prefix: list = dataclasses.field(default_factory=lambda: ["AUTH"])
    auth_prefix: str = "/auth/"
    token_life: int = 86400
    allow_overrides: bool = True
    storage_url_scheme: str = "default"
    token_secret: str = ""
    require_group: str = ""
    log_name: str = "tempauth"
    named: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def validate(self) -> None:
        if self.token_life <= 0:
            raise ConfigError("option 'token_life' must be positive")
        if self.storage_url_scheme not in ("default", "http", "https"):
            raise ConfigError("option 'storage_url_scheme' must be default, http or https")
        prefixes = _normalise_prefixes(self.reseller_prefix)
        for option in self.named:
            if option.endswith("_require_group") and \
                    option[:-len("require_group")] not in prefixes:
                raise ConfigError("option %r names no reseller prefix (reseller_prefix = %s)"
                                  % (option, ", ".join(prefixes)))
        parse_users(self.named, prefixes[0])  # a bad user line stops the start

    @property
    def users(self) -> dict[str, TempAuthUser]:
        """``{"account:user": TempAuthUser}`` from the ``user_*`` lines."""
        return parse_users(self.named, _normalise_prefixes(self.reseller_prefix)[0])


def _normalise_prefixes(raw: list[str]) -> list[str]:
    """``AUTH`` -> ``AUTH_``; ``''`` (quoted empty) means "no prefix"."""
    prefixes: list[str] = []
    for item in raw:
        item = item.strip()
        if item in ("''", '""'):
            item = ""
        elif not item.endswith("_"):
            item += "_"
        if item not in prefixes:
            prefixes.append(item)
    return prefixes or ["AUTH_"]




def _unauthorized(realm: Optional[str], body: str = "Unauthorized") -> webob.Response:
    return _plain_response(401, body, {"Www-Authenticate": 'Swift realm="%s"' % quote(
        str_to_bytes(realm or "unknown"), safe="")})


class TempAuth:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: TempAuthConfig | Mapping[str, Any] | None = None,
                 clock: Callable[[], float] = time.time, *,
                 hasher: Optional[PathHasher] = None, logger: Any = None):
        self.app = app
        self.settings = TempAuthConfig.of(conf)
        self.logger = logger or get_logger(self.settings.log_name)
        self.hasher = hasher
        self.clock = clock
        self.reseller_prefixes = _normalise_prefixes(self.settings.reseller_prefix)
        self.reseller_prefix = self.reseller_prefixes[0]
        auth_prefix = "/" + self.settings.auth_prefix.strip("/") + "/"
        self.auth_prefix = auth_prefix if auth_prefix != "//" else "/auth/"
        self.require_groups = {
            prefix: self.settings.named.get("%srequire_group" % prefix,
                                            self.settings.require_group).strip()
            for prefix in self.reseller_prefixes}
        self.users: dict[str, TempAuthUser] = self.settings.users
        self.signer = TokenSigner(self._token_secret(), self.reseller_prefix + "tk")
        # token -> (user name, user entry, expiry, groups), oldest first
        self._checked_tokens: dict[str, tuple[str, TempAuthUser, int, str]] = {}

    def _token_secret(self) -> bytes:
        if self.settings.token_secret:
            return secret_from_config(self.settings.token_secret)
        if self.hasher is None:
            raise ConfigError("[tempauth] needs token_secret, or the cluster hash salt "
                              "(objstore.conf [hash]) to derive one")
        return self.hasher.derive_secret("tempauth-token")

    # -- request entry -------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.settings.allow_overrides and environ.get("swift.authorize_override"):
            return self.app(environ, start_response)
        s3_details = environ.get(S3_AUTH_DETAILS_KEY)
        if s3_details is not None:
            return self.handle_s3_request(environ, s3_details, start_response)
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.auth_prefix) or path in ("/v1.0", "/v1.0/") or \
                path == self.auth_prefix.rstrip("/"):
            return self.handle_auth_request(webob.Request(environ))(environ, start_response)

        token = (environ.get("HTTP_X_AUTH_TOKEN") or environ.get("HTTP_X_STORAGE_TOKEN")
                 or "").strip()
        if token and token.startswith(self.reseller_prefix):
            groups = self.groups_for_token(token)
            service_token = (environ.get("HTTP_X_SERVICE_TOKEN") or "").strip()
            if groups and service_token:
                service_groups = self.groups_for_token(service_token)
                if service_groups:
                    groups += "," + service_groups
            if groups:
                environ["REMOTE_USER"] = groups
                environ["swift.authorize"] = self.authorize
                environ["swift.clean_acl"] = acl.clean_acl
                if RESELLER_ADMIN_GROUP in groups.split(","):
                    environ["reseller_request"] = True
            elif self.reseller_prefix:
                # The token carries our prefix, so nobody else can vouch for it.
                self.logger.info("rejected invalid or expired token for %s %s",
                                 environ.get("REQUEST_METHOD"), quote(path))
                return _unauthorized(self._realm(path))(environ, start_response)
            elif "swift.authorize" not in environ:
                environ["swift.authorize"] = self.denied_response
        elif self._is_definitive_auth(path):
            # Anonymous request for one of our accounts: ACLs may still allow it.
            environ["swift.authorize"] = self.authorize
            environ["swift.clean_acl"] = acl.clean_acl
        elif "" in self.reseller_prefixes:
            if "swift.authorize" not in environ:
                environ["swift.authorize"] = self.authorize
                environ["swift.clean_acl"] = acl.clean_acl
        elif "swift.authorize" not in environ:
            # Not our token, not our account: deny unless another auth claimed it.
            environ["swift.authorize"] = self.denied_response
        return self.app(environ, start_response)

    def handle_s3_request(self, environ: dict, details: Any,
                          start_response: Callable) -> Iterable[bytes]:
        """A Swift request the s3api made for an S3 client, signed with a user's key.

        The interface (see ``objstore.middleware.s3api.auth.AuthDetails``):
        ``details.access_key`` is ``account:user``; ``details.check_signature(key)``
        says whether the request was signed with that user's key (checked once
        per S3 request: ``details.account`` is set on success).  The path's
        account segment is the access key; it becomes the user's account.
        On failure ``details.error`` holds the S3 error code.
        """
        entry = self.users.get(details.access_key)
        if entry is None:
            details.error = "InvalidAccessKeyId"
            return _plain_response(403, "Forbidden")(environ, start_response)
        if details.account is None:
            if not details.check_signature(entry.key):
                details.error = "SignatureDoesNotMatch"
                return _plain_response(403, "Forbidden")(environ, start_response)
            details.account = str_to_wsgi(unquote(entry.account_id))
        placeholder = "/v1/" + str_to_wsgi(details.access_key)
        path = environ.get("PATH_INFO", "")
        if path == placeholder or path.startswith(placeholder + "/"):
            environ["PATH_INFO"] = "/v1/" + details.account + path[len(placeholder):]
        groups = self.user_groups(entry)
        environ["REMOTE_USER"] = groups
        environ["swift.authorize"] = self.authorize
        environ["swift.clean_acl"] = acl.clean_acl
        if RESELLER_ADMIN_GROUP in groups.split(","):
            environ["reseller_request"] = True
        return self.app(environ, start_response)

    def _realm(self, path: str) -> str:
        try:
            return split_swift_path(path)[1] or "unknown"
        except ValueError:
            return "unknown"

    # -- prefixes --------------------------------------------------------

    def account_prefix(self, account: Optional[str]) -> Optional[str]:
        """The reseller prefix ``account`` lives under, or None if not ours."""
        if account is None:
            return None
        for prefix in self.reseller_prefixes:
            if prefix and account.startswith(prefix):
                return prefix
        return "" if "" in self.reseller_prefixes else None

    def _is_definitive_auth(self, path: str) -> bool:
        try:
            account = split_swift_path(path)[1]
        except ValueError:
            return False
        prefix = self.account_prefix(account)
        return bool(prefix)

    def _is_dot_account(self, account: str) -> bool:
        prefix = self.account_prefix(account)
        return prefix is not None and account[len(prefix):len(prefix) + 1] == "."

    # -- tokens -----------------------------------------------------------

    def user_groups(self, entry: TempAuthUser) -> str:
        """The REMOTE_USER string for a user: account, account:user, groups.

        ``.admin`` is replaced by the account ids it owns (one per prefix),
        which is what :meth:`authorize` looks for.
        """
        groups = [entry.account, entry.account_user]
        groups.extend(entry.groups)
        if ADMIN_GROUP in groups:
            groups = [group for group in groups if group != ADMIN_GROUP]
            for prefix in self.reseller_prefixes:
                if prefix:
                    groups.append(prefix + entry.account)
            account_id = unquote(entry.account_id)
            if account_id not in groups:
                groups.append(account_id)
        return ",".join(groups)

    def groups_for_token(self, token: str) -> Optional[str]:
        """The token's groups if it is ours, unexpired, and its user and key still stand.

        A token checked once is remembered until it expires: checking it
        costs two HMACs and a JSON parse, and a client sends the same token
        with every request.  Only tokens that passed are remembered, so
        forged ones cannot fill the memory, and a remembered token counts
        only while its user's entry is the very one it was checked against.
        """
        now = self.clock()
        known = self._checked_tokens.get(token)
        if known is not None:
            user_name, entry, expires, groups = known
            if expires > now and self.users.get(user_name) is entry:
                return groups
            del self._checked_tokens[token]
        claims = self.signer.verify(token)
        if claims is None or claims.expires <= now:
            return None
        user_name = "%s:%s" % (claims.account, claims.user)
        entry = self.users.get(user_name)
        if entry is None or not self.signer.key_matches(claims, entry.key):
            return None
        groups = self.user_groups(entry)
        if len(self._checked_tokens) >= CHECKED_TOKENS_KEPT:
            del self._checked_tokens[next(iter(self._checked_tokens))]  # the oldest
        self._checked_tokens[token] = (user_name, entry, claims.expires, groups)
        return groups

    # -- token requests ----------------------------------------------------

    def handle_auth_request(self, req: webob.Request) -> webob.Response:
        if req.method not in ("GET", "HEAD"):
            return _plain_response(405, "Method Not Allowed", {"Allow": "GET, HEAD"})
        path = req.path_info
        if path.startswith(self.auth_prefix):
            rest = path[len(self.auth_prefix):]
        else:
            rest = path.lstrip("/")
        segments = [wsgi_to_str(part) for part in rest.split("/")]
        while segments and segments[-1] == "":
            segments.pop()
        if segments in (["v1.0"], ["auth"], ["v1"]):
            account_in_path = None
        elif len(segments) == 3 and segments[0] == "v1" and segments[2] == "auth":
            account_in_path = segments[1]
        else:
            return _plain_response(404, "Not Found")
        return self._issue_token(req, account_in_path)

    def _credentials(self, req: webob.Request, account_in_path: Optional[str]
                     ) -> tuple[Optional[str], Optional[str], Optional[str]]:
        """(account, user, key) from the request; account None means malformed."""
        auth_user = wsgi_to_str(req.headers.get("X-Auth-User", "")).strip()
        storage_user = wsgi_to_str(req.headers.get("X-Storage-User", "")).strip()
        key = wsgi_to_str(req.headers.get("X-Auth-Key") or
                            req.headers.get("X-Storage-Pass") or "")
        if account_in_path is not None:
            if storage_user and ":" not in storage_user:
                return account_in_path, storage_user, key
            given = storage_user or auth_user
            if ":" not in given:
                return None, None, key
            account, user = given.split(":", 1)
            if account != account_in_path:
                return account_in_path, None, key
            return account, user, key
        given = auth_user or storage_user
        if ":" not in given:
            return None, None, key
        account, user = given.split(":", 1)
        return account, user, key

    def _issue_token(self, req: webob.Request, account_in_path: Optional[str]
                     ) -> webob.Response:
        account, user, key = self._credentials(req, account_in_path)
        if not account or user is None:
            # Swift answers 401 here too, so clients treat it as "bad credentials".
            return _unauthorized(account,
                                 "X-Auth-User must be <account>:<user> (and X-Auth-Key the key)")
        entry = self.users.get("%s:%s" % (account, user))
        presented = str_to_bytes(key or "")
        expected = str_to_bytes(entry.key if entry else _DUMMY_KEY)
        key_ok = hmac.compare_digest(presented, expected)
        if entry is None or not key or not key_ok:
            self.logger.info("token denied for %s", quote(
                str_to_bytes("%s:%s" % (account, user)), safe=":"))
            return _unauthorized(account)
        now = self.clock()
        expires = int(now + self.settings.token_life)
        token = self.signer.issue(entry.account, entry.user, entry.key, expires)
        resp = _plain_response(200)
        resp.headers["X-Auth-Token"] = token
        resp.headers["X-Storage-Token"] = token
        resp.headers["X-Auth-Token-Expires"] = str(max(0, int(expires - now)))
        resp.headers["X-Storage-Url"] = self._storage_url(req, entry)
        self.logger.info("issued token for %s (expires in %ds)", entry.account_user,
                         self.settings.token_life)
        return resp

    def _storage_url(self, req: webob.Request, entry: TempAuthUser) -> str:
        url = entry.url.replace(HOST_PLACEHOLDER, req.host_url)
        if self.settings.storage_url_scheme != "default" and ":" in url:
            url = self.settings.storage_url_scheme + ":" + url.split(":", 1)[1]
        return url

    # -- authorization -----------------------------------------------------

    def denied_response(self, req: webob.Request) -> webob.Response:
        """403 for a known user without rights, 401 (asking to log in) for anonymous."""
        if req.remote_user:
            return _plain_response(403, "Forbidden")
        return _unauthorized(self._realm(req.path_info))

    def authorize(self, req: webob.Request) -> Optional[webob.Response]:
        """None if ``req`` may proceed, else the 4xx response to send."""
        try:
            _version, account, container, obj = split_swift_path(req.path_info)
        except ValueError:
            return _plain_response(404, "Not Found")
        prefix = self.account_prefix(account)
        if account is None or prefix is None:
            return self.denied_response(req)

        if req.headers.get(ACCOUNT_ACL_HEADER) is not None:
            error = self._store_account_acl_header(req)
            if error:
                return _plain_response(400, "%s invalid: %s\n" % (ACCOUNT_ACL_HEADER, error))

        user_groups = [group for group in (req.remote_user or "").split(",") if group]
        account_write = req.method in ("PUT", "DELETE") and not container

        if RESELLER_ADMIN_GROUP in user_groups and account not in self.reseller_prefixes \
                and not self._is_dot_account(account):
            req.environ["swift_owner"] = True
            return None

        if account in user_groups and not account_write:
            required = self.require_groups.get(prefix, "")
            if not required or required in user_groups:
                req.environ["swift_owner"] = True
                return None

        if req.method == "OPTIONS":
            return None  # CORS preflight carries no credentials

        referrers, acl_groups = acl.parse_acl(getattr(req, "acl", None))
        if acl.referrer_allowed(req.referer, referrers) and \
                (obj or ".rlistings" in acl_groups):
            return None
        if any(group in acl_groups for group in user_groups):
            return None

        if user_groups:
            grants = self._account_acls(req, account)
            granted = set(user_groups)
            if granted.intersection(grants["admin"]):
                # an admin grant makes the user an owner in every respect
                req.environ["swift_owner"] = True
                return None
            if granted.intersection(grants["read-write"]) and \
                    (container or req.method in ("GET", "HEAD")):
                return None
            if granted.intersection(grants["read-only"]) and req.method in ("GET", "HEAD"):
                return None
        return self.denied_response(req)

    def _store_account_acl_header(self, req: webob.Request) -> Optional[str]:
        """Check ``X-Account-Access-Control`` and move it to sysmeta; the error or None."""
        text = wsgi_to_str(req.headers[ACCOUNT_ACL_HEADER])
        try:
            grants = acl.parse_account_acl(text)
        except ValueError as err:
            return str(err)
        del req.headers[ACCOUNT_ACL_HEADER]
        # An ACL granting nothing ("{}" or empty) is stored as no ACL at all.
        req.headers[ACCOUNT_ACL_SYSMETA] = acl.format_account_acl(grants) \
            if any(grants.values()) else ""
        return None

    def _account_acls(self, req: webob.Request, account: str) -> dict[str, list[str]]:
        """The account's stored ACL grants (fetched once per request)."""
        cache = req.environ.setdefault(_ACCOUNT_ACL_CACHE, {})
        if account in cache:
            return cache[account]
        stored = self._fetch_account_acl(req, account)
        try:
            grants = acl.parse_account_acl(stored)
        except ValueError as err:
            self.logger.warning("ignoring invalid stored account ACL of %s: %s",
                                quote(str_to_bytes(account)), err)
            grants = acl.parse_account_acl(None)
        cache[account] = grants
        return grants

    def _fetch_account_acl(self, req: webob.Request, account: str) -> Optional[str]:
        """``HEAD /v1/<account>`` through the rest of the pipeline, pre-authorized."""
        req.environ.setdefault(INFOCACHE_KEYS[0], {})
        for cache_name in INFOCACHE_KEYS:
            info = (req.environ.get(cache_name) or {}).get("account/%s" % account)
            if isinstance(info, dict) and isinstance(info.get("sysmeta"), dict):
                return info["sysmeta"].get("core-access-control")
        sub_environ = {
            key: req.environ[key] for key in (
                "SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "wsgi.url_scheme",
                "SERVER_PROTOCOL", "REMOTE_ADDR", "swift.trans_id") + INFOCACHE_KEYS
            if key in req.environ}
        sub_environ.update({
            "REQUEST_METHOD": "HEAD",
            "swift.authorize": lambda _req: None,
            "swift.authorize_override": True,
            "swift.source": "TA",
            "swift.proxy_access_log_made": True,
        })
        sub_req = webob.Request.blank("/", environ=sub_environ)
        sub_req.environ["PATH_INFO"] = "/v1/" + str_to_wsgi(account)
        try:
            sub_resp = sub_req.get_response(self.app)
        except Exception:  # noqa: BLE001 - an ACL lookup failure must only deny
            self.logger.exception("account ACL lookup failed for %s",
                                  quote(str_to_bytes(account)))
            return None
        if sub_resp.status_int // 100 != 2:
            return None
        return sub_resp.headers.get(ACCOUNT_ACL_SYSMETA)


@typed_factory(TempAuthConfig)
def filter_factory(cluster: ClusterConfig, conf: TempAuthConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], TempAuth]:
    cluster.capabilities.register("tempauth", account_acls=True)
    logger = get_logger(conf.log_name, raw)

    def tempauth_filter(app: Callable) -> TempAuth:
        return TempAuth(app, conf, hasher=cluster.hasher, logger=logger)
    return tempauth_filter

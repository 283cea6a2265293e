"""Following a chain of symlinks to the object at its end.

A GET or HEAD of a link is answered by its target: the walk asks the rest of
the pipeline for the name, and while the answer is a link (its sysmeta says
so) asks again for that link's target, each time as a new request that the
auth filter checks, so a reader needs access to every container on the way.
``symloop_max`` links may be followed (links written with
``X-Object-Sysmeta-Symloop-Extend`` do not count); one more is a 409.

A static link also names the ETag its target must have: the walk compares
it with the next link's own target ETag (or, for a dynamic link or an
object, with its ETag) and answers 409 on a mismatch.  Every answer reached
through at least one link carries ``Content-Location`` with the last target's
path, errors included, so a client learns where a broken link points.

Conditions and ranges belong to the target.  A link is a zero-byte object,
so a ranged or conditional request can fail on the link itself (416, 412)
with an answer that does not tell whether the name is a link: then the name
is probed with a plain HEAD, and if it is a link the walk goes on.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional

from webob import Request, Response

from objstore.common.config import to_bool
from objstore.common.http_response import plain_response
from objstore.common.http_text import wsgi_quote, wsgi_unquote
from objstore.middleware import symlink_headers as names
from objstore.middleware.segments import close_response, subrequest

# Client headers a followed request must not take along to the target.
NOT_CARRIED = frozenset(("content-length", "transfer-encoding", "host",
                         "x-backend-storage-policy-index"))


class LinkError(Exception):
    """The walk ends in a refusal (``response``), e.g. a loop or an ETag mismatch."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _flag(headers: Mapping[str, str], name: str) -> bool:
    try:
        return to_bool(headers.get(name) or "false")
    except ValueError:
        return False


class LinkWalk:
    """One walk from a requested name to the object its links lead to."""

    def __init__(self, app: Callable, req: Request, version: str, account: str,
                 authorize: Optional[Callable], symloop_max: int):
        self.app = app
        self.req = req
        self.version = version
        self.account = account
        self.authorize = authorize
        self.symloop_max = symloop_max
        self.hops = 0
        self.last_target: Optional[str] = None

    # -- one step ------------------------------------------------------------------------
    def target_path(self, link: Mapping[str, str]) -> str:
        """The target of the link with these headers, as a quoted ``/v1/<a>/<c>/<o>``."""
        account = link.get(names.SYSMETA_TARGET_ACCOUNT) or wsgi_quote(self.account)
        return "/%s/%s/%s" % (self.version, account, link[names.SYSMETA_TARGET].lstrip("/"))

    def request_for(self, link: Mapping[str, str], method: str) -> Request:
        """The request for a link's target: a client's read takes its headers along."""
        path = self.target_path(link)
        self.last_target = path
        headers = {}
        if self.req.method in ("GET", "HEAD"):
            headers = {k: v for k, v in self.req.headers.items()
                       if k.lower() not in NOT_CARRIED and not k.lower().startswith("x-backend-")}
        sub = subrequest(self.req.environ, method, wsgi_unquote(path), "", "SYM", headers)
        sub.environ.pop("swift.authorize", None)
        if _flag(link, names.SYSMETA_ALLOW_RESERVED_NAMES):
            # a middleware wrote this link for the client and already checked it
            sub.headers[names.BACKEND_ALLOW_RESERVED_NAMES] = "true"
        elif self.authorize is not None:
            sub.environ["swift.authorize"] = self.authorize
        return sub

    def fetch(self, sub: Request) -> Response:
        """``sub``'s answer; a 412/416 of a link is replaced by the link's plain HEAD."""
        resp = sub.get_response(self.app)
        if resp.status_int in (412, 416) and not names.is_link(resp.headers):
            probe = subrequest(sub.environ, "HEAD", sub.environ["PATH_INFO"], "", "SYM")
            probe.environ.pop("swift.authorize", None)
            head = probe.get_response(self.app)
            close_response(head)
            if names.is_link(head.headers) and 200 <= head.status_int < 300:
                close_response(resp)
                return head
        return resp

    def conflict(self, reason: str) -> LinkError:
        headers = {"Content-Location": self.last_target} if self.last_target else {}
        return LinkError(plain_response(409, reason, headers, request_method=self.req.method))

    # -- the walk ----------------------------------------------------------------------
    def walk(self, resp: Response, method: str, follow_dynamic: bool = True,
             expected_etag: Optional[str] = None) -> Response:
        """Follow ``resp`` (the answer for the requested name) to the end of its links.

        ``follow_dynamic`` False stops at a dynamic link (a static link's
        target may be one: then the static link names the link itself).
        Raises :class:`LinkError` for a loop or an ETag mismatch.
        """
        while names.is_link(resp.headers):
            link_etag = normalize(resp.headers.get(names.SYSMETA_TARGET_ETAG))
            if not (link_etag or follow_dynamic):
                break
            close_response(resp)
            found = link_etag or normalize(resp.headers.get("Etag"))
            if expected_etag and expected_etag != found:
                raise self.conflict("X-Symlink-Target-Etag headers do not match")
            if self.hops >= self.symloop_max:
                raise self.conflict("Too many levels of symbolic links, maximum allowed is %d"
                                    % self.symloop_max)
            if not _flag(resp.headers, names.SYSMETA_SYMLOOP_EXTEND):
                self.hops += 1
            expected_etag = link_etag
            resp = self.fetch(self.request_for(resp.headers, method))
        final_etag = normalize(resp.headers.get("Etag"))
        if expected_etag and final_etag and final_etag != expected_etag:
            close_response(resp)
            raise self.conflict("Object Etag %r does not match X-Symlink-Target-Etag header %r"
                                % (final_etag, expected_etag))
        if self.last_target:
            resp.headers["Content-Location"] = self.last_target
        return resp


def normalize(value: Optional[str]) -> Optional[str]:
    return names.normalize_etag(value) or None

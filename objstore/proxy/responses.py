"""Building client responses: short plain-text errors, quorum status, header hygiene."""
from __future__ import annotations

from typing import Iterable, Mapping, Optional, Sequence

from objstore.common.http_response import (  # noqa: F401 (re-exported)
    ANSWER_CONTENT_TYPE, plain_response)

# Headers a node sends that describe its own connection, not the resource.
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-authenticate", "proxy-authorization", "date", "server"))

# Client request headers the proxy never forwards to nodes as they are.
REQUEST_HEADERS_NOT_FORWARDED = frozenset((
    "host", "connection", "keep-alive", "expect", "transfer-encoding", "content-length",
    "te", "trailer", "upgrade", "x-auth-token", "x-storage-token", "authorization",
    "x-timestamp", "x-trans-id", "x-openstack-request-id", "cookie"))


def quorum_size(replicas: int) -> int:
    """A majority: the number of replicas that must agree for a write to count."""
    return replicas // 2 + 1


def best_status(statuses: Sequence[int], replicas: int) -> Optional[int]:
    """The status a quorum holds (Swift's best_response rule), or None (→ 503).

    Statuses are grouped by class (2xx, 3xx, 4xx); the first class that a
    quorum of nodes answered wins, reported as its most common (then highest)
    member so one odd 202 among 201s does not leak out.
    """
    quorum = quorum_size(replicas)
    for hundred in (200, 300, 400):
        group = [s for s in statuses if hundred <= s < hundred + 100]
        if len(group) >= quorum:
            return max(group, key=lambda s: (group.count(s), s))
    return None


def is_backend_header(name: str) -> bool:
    return name.lower().startswith("x-backend-")


def client_visible_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Node response headers minus internal (``X-Backend-*``) and hop-by-hop ones."""
    out = []
    for key, value in headers:
        lower = key.lower()
        if lower in HOP_BY_HOP or lower.startswith("x-backend-") or lower == "x-trans-id":
            continue
        out.append((key, value))
    return out


def forwardable_request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Client headers worth passing to the nodes (metadata, content headers, conditions)."""
    return {k: v for k, v in headers.items()
            if k.lower() not in REQUEST_HEADERS_NOT_FORWARDED and not is_backend_header(k)}


def with_removals_applied(headers: Mapping[str, str], target_type: str,
                          removable: Iterable[str] = ()) -> dict[str, str]:
    """The request's headers with each ``X-Remove-...`` turned into an empty value.

    ``X-Remove-Container-Meta-Color: x`` becomes ``X-Container-Meta-Color: ""``
    (an empty value is how the nodes store a deletion); ``removable`` names
    other settings that can be removed this way (``X-Remove-Container-Read``).
    A header that sets the same item in the same request wins over its removal.
    """
    remove_meta = "x-remove-%s-meta-" % target_type
    removable = {name.lower() for name in removable}
    out: dict[str, str] = {}
    for key, value in headers.items():
        lower = key.lower()
        if lower.startswith(remove_meta) or lower in removable:
            out["x-" + lower[len("x-remove-"):]] = ""
    for key, value in headers.items():
        lower = key.lower()
        if not (lower.startswith(remove_meta) or lower in removable):
            out[lower if lower in out else key] = value
    return out

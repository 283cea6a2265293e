"""Swift's ACL syntax: container read/write ACLs and account access-control JSON.

Container ACLs (``X-Container-Read`` / ``X-Container-Write``) are
comma-separated grants.  A grant is a group the auth system puts in
``REMOTE_USER`` (``account:user``, ``account``, ``AUTH_account``, any
configured group), ``.rlistings`` (anonymous listings allowed), or a
referrer rule ``.r:<host>`` where ``<host>`` is ``*``, an exact host, a
``.domain`` suffix, and a leading ``-`` turns it into a deny.  Referrer
rules only make sense for reads.

Account ACLs (``X-Account-Access-Control``) are a JSON object with the keys
``admin``, ``read-write`` and ``read-only``, each a list of groups.

The auth middleware owns this module; the proxy only calls
``environ['swift.clean_acl'](header_name, value)`` before storing an ACL.
"""
from __future__ import annotations

import json
from typing import Optional
from urllib.parse import unquote, urlparse

from objstore.middleware.client_body import BodyError, load_json

REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")
ACCOUNT_ACL_KEYS = ("admin", "read-write", "read-only")
# The account ACL is an object of lists of strings.
ACCOUNT_ACL_DEPTH = 2


def clean_acl(header_name: str, value: str) -> str:
    """Normalise a container ACL; raise ValueError with a client-facing reason.

    ``header_name`` tells read from write ACLs (``X-Container-Write`` may not
    hold referrer rules).  Referrer designators are normalised to ``.r:``,
    blanks dropped, a leading ``*`` in a domain (``*.example.com``) reduced
    to the suffix form (``.example.com``).
    """
    is_write = "write" in header_name.lower()
    cleaned: list[str] = []
    for raw in value.split(","):
        grant = raw.strip()
        if not grant:
            continue
        if ":" not in grant:
            cleaned.append(grant)
            continue
        designator, target = (part.strip() for part in grant.split(":", 1))
        if not designator.startswith("."):
            # account:user
            cleaned.append(grant)
            continue
        if designator not in REFERRER_DESIGNATORS:
            raise ValueError("Unknown designator %r in ACL: %r" % (designator, grant))
        if is_write:
            raise ValueError("Referrers not allowed in write ACL: %r" % grant)
        negate = target.startswith("-")
        if negate:
            target = target[1:].strip()
        if target != "*" and target.startswith("*"):
            target = target[1:].strip()
        if not target or target == ".":
            raise ValueError("No host/domain value after referrer designation in ACL: %r"
                             % grant)
        cleaned.append(".r:%s%s" % ("-" if negate else "", target))
    return ",".join(cleaned)


def parse_acl(acl: Optional[str]) -> tuple[list[str], list[str]]:
    """Split a stored container ACL into (referrer rules, groups)."""
    referrers: list[str] = []
    groups: list[str] = []
    for grant in (acl or "").split(","):
        grant = grant.strip()
        if not grant:
            continue
        if grant.startswith(".r:"):
            referrers.append(grant[3:])
        else:
            groups.append(unquote(grant))
    return referrers, groups


def _host_matches(rule: str, host: str) -> bool:
    return rule == host or (rule.startswith(".") and host.endswith(rule))


def referrer_allowed(referrer: Optional[str], rules: list[str]) -> bool:
    """Whether a request with this ``Referer`` passes the referrer rules.

    Rules apply in order; the last matching one wins, so
    ``.r:*,.r:-bad.example.com`` admits everyone but that host.
    """
    allowed = False
    host = urlparse(referrer or "").hostname or "unknown"
    for rule in rules:
        if rule.startswith("-"):
            if _host_matches(rule[1:], host):
                allowed = False
        elif rule == "*" or _host_matches(rule, host):
            allowed = True
    return allowed


def parse_account_acl(text: Optional[str]) -> dict[str, list[str]]:
    """Parse the account ACL JSON; raise ValueError saying what is wrong.

    An empty value means "no account ACLs" and yields empty lists.
    """
    result: dict[str, list[str]] = {key: [] for key in ACCOUNT_ACL_KEYS}
    if not text or not text.strip():
        return result
    try:
        data = load_json(text, ACCOUNT_ACL_DEPTH)
    except BodyError:
        raise ValueError("Syntax error in input (%r)" % text[:100]) from None
    if not isinstance(data, dict):
        raise ValueError("Syntax error in input (%r): expected a JSON object" % text)
    for key, grantees in data.items():
        if key not in ACCOUNT_ACL_KEYS:
            raise ValueError("Key %s not recognized" % json.dumps(key))
        if not isinstance(grantees, list):
            raise ValueError("Value for key %s must be a list" % json.dumps(key))
        if not all(isinstance(grantee, str) for grantee in grantees):
            raise ValueError("Elements of %s list must be strings" % json.dumps(key))
        result[key] = list(grantees)
    return result


def format_account_acl(acls: dict[str, list[str]]) -> str:
    """Compact JSON for the account ACL, omitting empty lists (Swift's stored form)."""
    data = {key: acls[key] for key in ACCOUNT_ACL_KEYS if acls.get(key)}
    return json.dumps(data, separators=(",", ":"), sort_keys=True)

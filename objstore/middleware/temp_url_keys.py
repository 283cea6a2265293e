"""The secrets and signatures shared by TempURL and FormPost.

An account (``X-Account-Meta-Temp-URL-Key`` and ``-Key-2``) or a container
(``X-Container-Meta-Temp-URL-Key`` and ``-Key-2``) holds up to two keys, so
a key can be rotated without breaking the links already handed out.  A
signature is an HMAC of a short message with one of those keys; clients send
it as hex (its length tells the digest) or as ``<digest>:<base64>``.

Which keys signed a request matters: an account key may reach the whole
account, a container key only its own container (``scope``).
"""
from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import time
from types import MappingProxyType
from typing import Callable, NamedTuple, Optional

from objstore.common.http_text import wsgi_to_str
from objstore.proxy.info_cache import get_account_info, get_container_info

SUPPORTED_DIGESTS = ("sha1", "sha256", "sha512")
# A hex signature's length tells its digest.
HEX_LENGTHS = MappingProxyType({40: "sha1", 64: "sha256", 128: "sha512"})
ACCOUNT_SCOPE = "account"
CONTAINER_SCOPE = "container"
KEY_META_NAMES = ("temp-url-key", "temp-url-key-2")
EXPIRES_ISO8601_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ScopedKey(NamedTuple):
    key: str
    scope: str


class Signature(NamedTuple):
    digest: str
    hex_value: str


def keys_for(environ: dict, app: Callable, account: str, container: str) -> list[ScopedKey]:
    """The account's keys, then the container's (text names, as in the path).

    Metadata values travel as WSGI strings; a key holding non-ASCII characters
    signs with its UTF-8 bytes, so it is decoded before use.
    """
    found: list[ScopedKey] = []
    account_meta = get_account_info(environ, app, account).get("meta") or {}
    found.extend(ScopedKey(wsgi_to_str(account_meta[name]), ACCOUNT_SCOPE)
                 for name in KEY_META_NAMES if account_meta.get(name))
    container_meta = get_container_info(environ, app, account, container).get("meta") or {}
    found.extend(ScopedKey(wsgi_to_str(container_meta[name]), CONTAINER_SCOPE)
                 for name in KEY_META_NAMES if container_meta.get(name))
    return found


def parse_signature(value: str) -> Optional[Signature]:
    """``<hex>`` or ``<digest>:<base64>`` (standard or URL-safe alphabet); None if neither."""
    if ":" in value:
        digest, encoded = value.split(":", 1)
        digest = digest.lower()
        if digest not in SUPPORTED_DIGESTS:
            return None
        encoded = encoded.replace("-", "+").replace("_", "/")
        encoded += "=" * (-len(encoded) % 4)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
        return Signature(digest, raw.hex())
    digest = HEX_LENGTHS.get(len(value))
    if digest is None:
        return None
    return Signature(digest, value.lower())


def sign(key: str, message: str, digest: str) -> str:
    """Hex HMAC of ``message`` (UTF-8) with ``key``."""
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"),
                    getattr(hashlib, digest)).hexdigest()


def matching_scope(signature: Signature, keys: list[ScopedKey],
                   messages: list[str]) -> Optional[str]:
    """The scope of the first key that signed one of ``messages``, else None.

    Every candidate is compared in constant time, so timing tells nothing
    about how close a forged signature came.
    """
    found = None
    for scoped in keys:
        for message in messages:
            expected = sign(scoped.key, message, signature.digest)
            if hmac.compare_digest(expected, signature.hex_value) and found is None:
                found = scoped.scope
    return found


def parse_expires(value: str) -> Optional[int]:
    """UNIX seconds or ISO 8601 (``2030-01-01T00:00:00Z``); None when neither."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return calendar.timegm(time.strptime(value, EXPIRES_ISO8601_FORMAT))
    except ValueError:
        return None

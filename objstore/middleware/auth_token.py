"""Self-validating auth tokens: no shared token store between proxy workers.

Swift's tempauth keeps tokens in memcached so every proxy worker can look
them up.  We have no memcached, so the token carries its own claims and an
HMAC-SHA256 signature under a secret all workers share (``token_secret``, or
one derived from the cluster hash salt).  Any worker, after any restart, can
check a token with nothing but the secret.

Layout (all ASCII, header-safe)::

    <reseller prefix>tk<base64url(JSON claims)>.<base64url(signature)>

Claims: version, account, user, expiry (unix seconds) and a fingerprint of
the user's key -- an HMAC of the key under the secret, so it neither reveals
the key nor can be brute-forced offline, yet a token stops working as soon
as the operator changes that user's key.  The caller checks expiry and the
fingerprint against the current user table; this module checks form and
signature only.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
from typing import Optional

TOKEN_FORMAT_VERSION = 1
MAX_TOKEN_LENGTH = 4096
_SIGNATURE_CONTEXT = b"objstore-tempauth-token-v1\n"
_FINGERPRINT_CONTEXT = b"objstore-tempauth-key-v1\n"


@dataclasses.dataclass(frozen=True)
class TokenClaims:
    account: str
    user: str
    expires: int
    key_fingerprint: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks tokens for one auth middleware instance."""

    def __init__(self, secret: bytes, token_prefix: str):
        if not secret:
            raise ValueError("token secret must not be empty")
        self._secret = secret
        self.token_prefix = token_prefix

    def key_fingerprint(self, key: str) -> str:
        digest = hmac.new(self._secret, _FINGERPRINT_CONTEXT + key.encode("utf-8"),
                          hashlib.sha256).digest()
        return _b64encode(digest[:18])

    def _sign(self, signed_part: str) -> str:
        digest = hmac.new(self._secret, _SIGNATURE_CONTEXT + signed_part.encode("ascii"),
                          hashlib.sha256).digest()
        return _b64encode(digest)

    def issue(self, account: str, user: str, key: str, expires: float) -> str:
        claims = {"v": TOKEN_FORMAT_VERSION, "a": account, "u": user,
                  "e": int(expires), "k": self.key_fingerprint(key)}
        payload = _b64encode(json.dumps(claims, separators=(",", ":"),
                                        sort_keys=True).encode("utf-8"))
        signed_part = self.token_prefix + payload
        return signed_part + "." + self._sign(signed_part)

    def verify(self, token: str) -> Optional[TokenClaims]:
        """The token's claims if it is well formed and signed by us, else None."""
        if not token or len(token) > MAX_TOKEN_LENGTH or \
                not token.startswith(self.token_prefix):
            return None
        signed_part, dot, signature = token.rpartition(".")
        if not dot:
            return None
        try:
            expected = self._sign(signed_part)
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(expected.encode("ascii"),
                                   signature.encode("ascii", "replace")):
            return None
        try:
            claims = json.loads(_b64decode(signed_part[len(self.token_prefix):]))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict) or claims.get("v") != TOKEN_FORMAT_VERSION:
            return None
        account, user, expires, fingerprint = (claims.get(name) for name in "auek")
        if not (isinstance(account, str) and isinstance(user, str)
                and isinstance(expires, int) and isinstance(fingerprint, str)):
            return None
        return TokenClaims(account=account, user=user, expires=expires,
                           key_fingerprint=fingerprint)

    def key_matches(self, claims: TokenClaims, current_key: str) -> bool:
        """Whether the token was issued under the user's current key."""
        return hmac.compare_digest(self.key_fingerprint(current_key).encode("ascii"),
                                   claims.key_fingerprint.encode("ascii", "replace"))


def secret_from_config(token_secret: str) -> bytes:
    """Turn the operator's ``token_secret`` string into HMAC key bytes."""
    return hashlib.sha256(b"objstore-tempauth-secret\n" + token_secret.encode("utf-8")).digest()

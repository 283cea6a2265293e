"""Tempauth's user table, read from ``user_*`` lines of its config section.

The format is Swift's, so existing proxy configs and test setups work as-is::

    user_<account>_<user> = <key> [group ...] [storage url]
    user64_<b64 account>_<b64 user> = ...     (names holding "_", unpadded base64)

Groups are free-form names; ``.admin`` makes the user the owner of its
account, ``.reseller_admin`` the owner of every account.  A last value with
``://`` or ``$HOST`` in it is the storage URL handed out at login
(``$HOST`` becomes the request's ``scheme://host``).

These lines are free-form by design (the option *names* carry the user), so
they cannot be declared as dataclass fields; this module is their one parser.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Mapping
from urllib.parse import quote

from objstore.common.config import ConfigError

ADMIN_GROUP = ".admin"
RESELLER_ADMIN_GROUP = ".reseller_admin"
HOST_PLACEHOLDER = "$HOST"


@dataclasses.dataclass(frozen=True)
class TempAuthUser:
    account: str
    user: str
    key: str
    groups: tuple[str, ...]
    url: str

    @property
    def account_user(self) -> str:
        return "%s:%s" % (self.account, self.user)

    @property
    def account_id(self) -> str:
        """The account this user's storage URL points at (``AUTH_test``)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def __repr__(self) -> str:
        # Never let a key reach a log line through a stray %r.
        return "TempAuthUser(%s, groups=%s)" % (self.account_user, ",".join(self.groups))


def _decode_b64_name(text: str, option: str) -> str:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4),
                                validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ConfigError("option %r: cannot decode %r as base64 UTF-8" % (option, text)) \
            from None


def parse_users(conf: Mapping[str, object], default_prefix: str) -> dict[str, TempAuthUser]:
    """``{"account:user": TempAuthUser}`` from every ``user_``/``user64_`` option."""
    users: dict[str, TempAuthUser] = {}
    for option, raw_value in conf.items():
        if option.startswith("user64_"):
            encoded = True
        elif option.startswith("user_"):
            encoded = False
        else:
            continue
        parts = option.split("_", 1)[1].split("_")
        if len(parts) != 2 or not all(parts):
            raise ConfigError("option %r: expected user_<account>_<user> (use user64_ "
                              "for names holding '_')" % option)
        account, user = parts
        if encoded:
            account = _decode_b64_name(account, option)
            user = _decode_b64_name(user, option)
        values = str(raw_value).split()
        if not values:
            raise ConfigError("option %r has no key set" % option)
        key = values.pop(0)
        if values and ("://" in values[-1] or HOST_PLACEHOLDER in values[-1]):
            url = values.pop()
        else:
            url = "%s/v1/%s%s" % (HOST_PLACEHOLDER, default_prefix,
                                  quote(account.encode("utf-8"), safe=""))
        entry = TempAuthUser(account=account, user=user, key=key,
                             groups=tuple(values), url=url)
        users[entry.account_user] = entry
    return users

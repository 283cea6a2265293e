"""Where a client request points: ``/v1/<account>[/<container>[/<object>]]``.

Middlewares that act per account, container or object (auth, CORS, quotas)
share this one reading of the path, in text form.
"""
from __future__ import annotations

from typing import Collection, Optional

from objstore.common.http_text import wsgi_to_str


def split_swift_path(path_info: str) -> tuple[str, Optional[str], Optional[str], Optional[str]]:
    """``/v1/a/c/o/with/slashes`` -> (version, account, container, object), text form.

    Raises ValueError for paths that do not even name a version.
    """
    if not path_info.startswith("/"):
        raise ValueError("path must start with /")
    parts = path_info[1:].split("/", 3)
    if not parts[0]:
        raise ValueError("no version segment")
    parts += [None] * (4 - len(parts))  # type: ignore[list-item]
    version, account, container, obj = parts
    if (account == "" and (container or obj)) or (container == "" and obj):
        raise ValueError("empty path segment")
    return (version, wsgi_to_str(account) if account else None,
            wsgi_to_str(container) if container else None,
            wsgi_to_str(obj) if obj else None)


def api_target(environ: dict, api_versions: Collection[str]
               ) -> Optional[tuple[str, Optional[str], Optional[str]]]:
    """(account, container, object) of a ``/v1/...`` request; None for /info, /auth and the like.

    ``api_versions`` are the cluster's (its constraints' ``valid_api_versions``).
    """
    try:
        version, account, container, obj = split_swift_path(environ.get("PATH_INFO", ""))
    except ValueError:
        return None
    if account is None or version not in api_versions:
        return None
    return account, container, obj

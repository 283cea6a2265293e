"""What this cluster can do, as ``GET /info`` tells clients (``swift capabilities``).

Each middleware registers its own section when its filter factory runs, so
/info lists exactly what the configured pipeline enables.  Sections flagged
admin-only are shown only to requests that prove the admin key.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

_public: dict[str, dict[str, Any]] = {}
_admin: dict[str, dict[str, Any]] = {}
_disallowed: set[str] = set()


def register_capability(name: str, admin: bool = False, **info: Any) -> None:
    """Add (or replace) ``name``'s section; later registrations merge into it."""
    target = _admin if admin else _public
    target.setdefault(name, {}).update(info)


def disallow_sections(names: list[str]) -> None:
    """Operator hides sections (``disallowed_sections`` in the proxy config)."""
    _disallowed.update(names)


def capabilities(admin: bool = False, only: Optional[list[str]] = None) -> dict[str, Any]:
    """A deep copy of the registered capabilities (optionally a few sections)."""
    info = {k: copy.deepcopy(v) for k, v in _public.items() if k not in _disallowed}
    if admin:
        info["admin"] = copy.deepcopy(_admin)
    if only:
        info = {k: v for k, v in info.items() if k in only}
    return info


def reset_capabilities() -> None:
    """Forget everything (tests build several pipelines in one process)."""
    _public.clear()
    _admin.clear()
    _disallowed.clear()

"""What this cluster can do, as ``GET /info`` tells clients (``swift capabilities``).

Each middleware registers its own section when its filter factory runs, so
/info lists exactly what the configured pipeline enables.  Sections flagged
admin-only are shown only to requests that prove the admin key.  The registry
belongs to one cluster config (one proxy pipeline), never to the process, so
two pipelines in one process each list only their own features.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable, Optional


class Capabilities:
    """The /info registry of one proxy pipeline, filled while its factories run."""

    def __init__(self) -> None:
        self._public: dict[str, dict[str, Any]] = {}
        self._admin: dict[str, dict[str, Any]] = {}
        self._disallowed: set[str] = set()

    def register(self, name: str, admin: bool = False, **info: Any) -> None:
        """Add (or replace) ``name``'s section; later registrations merge into it."""
        target = self._admin if admin else self._public
        target.setdefault(name, {}).update(info)

    def disallow(self, names: Iterable[str]) -> None:
        """Operator hides sections (``disallowed_sections`` in the proxy config)."""
        self._disallowed.update(names)

    def as_info(self, admin: bool = False, only: Optional[list[str]] = None) -> dict[str, Any]:
        """A deep copy of the registered capabilities (optionally a few sections)."""
        info = {k: copy.deepcopy(v) for k, v in self._public.items()
                if k not in self._disallowed}
        if admin:
            info["admin"] = copy.deepcopy(self._admin)
        if only:
            info = {k: v for k, v in info.items() if k in only}
        return info

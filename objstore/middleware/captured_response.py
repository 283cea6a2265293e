"""A response from the rest of the pipeline, held before the client sees it.

Filters that decide what to send only after seeing the status and headers of
what came back (staticweb's error pages, tempurl's container-root rule) capture
the response first and then pass it on, replace it, or discard it.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional


class _Resumed:
    """A body whose first chunk was read early; closing it closes the original."""

    def __init__(self, first: Optional[bytes], rest: Iterator[bytes], original: Iterable[bytes]):
        self.first = first
        self.rest = rest
        self.original = original

    def __iter__(self) -> Iterator[bytes]:
        if self.first is not None:
            yield self.first
        yield from self.rest

    def close(self) -> None:
        close = getattr(self.original, "close", None)
        if close is not None:
            close()


class Captured:
    """A response from the rest of the pipeline, held before the client sees it."""

    def __init__(self, app: Callable, environ: dict):
        self.status = ""
        self.headers: list = []
        self.exc_info: Any = None

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            self.status, self.headers, self.exc_info = status, headers, exc_info
            return lambda _data: None
        self.body: Iterable[bytes] = app(environ, capture)
        if not self.status:
            # An app may start its response only once its body is iterated.
            self.body = self._started(self.body)

    def _started(self, body: Iterable[bytes]) -> Iterable[bytes]:
        iterator = iter(body)
        first = next(iterator, None)
        if not self.status:
            raise RuntimeError("WSGI app returned without starting a response")
        return _Resumed(first, iterator, body)

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    def header(self, name: str) -> Optional[str]:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def send(self, start_response: Callable) -> Iterable[bytes]:
        start_response(self.status, self.headers, self.exc_info)
        return self.body

    def discard(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()

"""Cluster timestamps: the single clock every write is ordered by.

Every replica decides "newest wins" by comparing these values, so they must
compare exactly (integers, never floats) and serialize the same way on every
node.  A timestamp is a count of 10 microsecond ticks since the epoch plus an
optional *offset*: a tie-breaker used when the cluster itself must order two
events that carry the same client-visible time (for example a DELETE that a
daemon issues on behalf of an object it already saw).

Forms:
- normal:   ``1392683866.17952``   (what clients see in X-Timestamp)
- internal: ``1392683866.17952_000000000000000a`` (offset appended, hex)
"""
from __future__ import annotations

import functools
import time
from typing import Union

TICKS_PER_SECOND = 100_000
PRECISION = 1.0 / TICKS_PER_SECOND
MAX_OFFSET = (1 << 64) - 1
# Ten digits of seconds covers dates up to the year 2286, like Swift.
MAX_SECONDS = 9_999_999_999

TimestampLike = Union["Timestamp", str, int, float]


class InvalidTimestamp(ValueError):
    """Raised for a value that cannot be read as a cluster timestamp."""


@functools.total_ordering
class Timestamp:
    __slots__ = ("ticks", "offset")

    def __init__(self, value: TimestampLike, offset: int = 0, delta: int = 0):
        """``delta`` adds ticks (10 µs units); ``offset`` adds to the offset."""
        if isinstance(value, Timestamp):
            ticks, base_offset = value.ticks, value.offset
        elif isinstance(value, str):
            ticks, base_offset = _parse(value)
        elif isinstance(value, (int, float)):
            if value != value or value in (float("inf"), float("-inf")):
                raise InvalidTimestamp("timestamp must be finite")
            ticks, base_offset = int(round(float(value) * TICKS_PER_SECOND)), 0
        else:
            raise InvalidTimestamp("unsupported timestamp type %r" % type(value).__name__)
        ticks += delta
        offset = base_offset + offset
        if ticks < 0:
            raise InvalidTimestamp("timestamp must not be negative")
        if ticks > MAX_SECONDS * TICKS_PER_SECOND + (TICKS_PER_SECOND - 1):
            raise InvalidTimestamp("timestamp too large")
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidTimestamp("timestamp offset out of range")
        self.ticks = ticks
        self.offset = offset

    @classmethod
    def now(cls, offset: int = 0) -> "Timestamp":
        return cls(time.time(), offset=offset)

    @classmethod
    def zero(cls) -> "Timestamp":
        return cls(0)

    @property
    def seconds(self) -> float:
        return self.ticks / TICKS_PER_SECOND

    @property
    def normal(self) -> str:
        whole, frac = divmod(self.ticks, TICKS_PER_SECOND)
        return "%010d.%05d" % (whole, frac)

    @property
    def internal(self) -> str:
        if self.offset:
            return "%s_%016x" % (self.normal, self.offset)
        return self.normal

    @property
    def http_date(self) -> str:
        """RFC 7231 date rounded up to whole seconds (Last-Modified semantics)."""
        whole = -(-self.ticks // TICKS_PER_SECOND)
        return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(whole))

    @property
    def iso8601(self) -> str:
        """Listing form: ``2014-02-18T00:37:46.179520`` (microseconds, UTC, no zone)."""
        whole, frac = divmod(self.ticks, TICKS_PER_SECOND)
        return "%s.%06d" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)), frac * 10)

    def __str__(self) -> str:
        return self.internal

    def __repr__(self) -> str:
        return "Timestamp(%r)" % self.internal

    def __float__(self) -> float:
        return self.seconds

    def _key(self) -> tuple:
        return (self.ticks, self.offset)

    def __eq__(self, other: object) -> bool:
        if other is None:
            return False
        if not isinstance(other, Timestamp):
            try:
                other = Timestamp(other)  # type: ignore[arg-type]
            except (InvalidTimestamp, ValueError, TypeError):
                return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Timestamp):
            other = Timestamp(other)  # type: ignore[arg-type]
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __bool__(self) -> bool:
        return bool(self.ticks or self.offset)


def _parse(text: str) -> tuple[int, int]:
    text = text.strip()
    offset = 0
    if "_" in text:
        text, _, offset_hex = text.partition("_")
        try:
            offset = int(offset_hex, 16)
        except ValueError:
            raise InvalidTimestamp("bad timestamp offset %r" % offset_hex) from None
    if not text:
        raise InvalidTimestamp("empty timestamp")
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or (dot and frac and not frac.isdigit()):
        # Allow float notation such as "1e9" only through float(); reject junk.
        try:
            value = float(text)
        except ValueError:
            raise InvalidTimestamp("bad timestamp %r" % text) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidTimestamp("timestamp must be finite")
        return int(round(value * TICKS_PER_SECOND)), offset
    ticks = int(whole) * TICKS_PER_SECOND
    if frac:
        # Round to the nearest tick (beyond 5 digits is sub-tick noise).
        digits = (frac + "00000")[:6]
        ticks += (int(digits) + 5) // 10
    return ticks, offset


def normalize_timestamp(value: TimestampLike) -> str:
    return Timestamp(value).normal


def last_modified_date_to_timestamp(iso_text: str) -> Timestamp:
    """Turn a listing ``last_modified`` value back into a Timestamp."""
    import calendar

    main, _, micro = iso_text.partition(".")
    whole = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    ticks = whole * TICKS_PER_SECOND + (int((micro + "000000")[:6]) // 10 if micro else 0)
    return Timestamp(ticks / TICKS_PER_SECOND)

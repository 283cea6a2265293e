"""Logging with the request's transaction id on every line.

An operator greps one ``tx…`` id and sees the request's path through the
proxy and every storage node.  The id lives in a context variable; greenlet
gives every green thread its own context, so concurrent requests in one
process never see each other's id.
"""
from __future__ import annotations

import contextvars
import dataclasses
import logging
import logging.handlers
import os
import sys
import time
import uuid
from typing import Any, Callable, Mapping, Optional

from objstore.common.config import ConfigSection

TRANS_ID_HEADER = "X-Trans-Id"
_trans_id: contextvars.ContextVar[str] = contextvars.ContextVar("objstore_trans_id", default="-")

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s (txn: %(trans_id)s)"


def set_trans_id(trans_id: Optional[str]) -> None:
    _trans_id.set(trans_id or "-")


def get_trans_id() -> str:
    return _trans_id.get()


def new_trans_id(extra: str = "") -> str:
    """``tx`` + 21 hex chars + ``-`` + hex epoch seconds, then up to 32 chars of client extra.

    The shape matches Swift's so tools that parse ids keep working.
    """
    trans_id = "tx%s-%010x" % (uuid.uuid4().hex[:21], int(time.time()))
    if extra:
        cleaned = "".join(ch for ch in extra[:32] if 32 < ord(ch) < 127)
        trans_id += cleaned
    return trans_id


@dataclasses.dataclass
class LogSettings(ConfigSection):
    log_level: str = ""
    log_file: str = ""

    def validate(self) -> None:
        self.log_level = (self.log_level or os.environ.get("OBJSTORE_LOG_LEVEL", "INFO")).upper()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners and daemons swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


class _LineFormatter(logging.Formatter):
    """LOG_FORMAT, with the date and time of the current second formatted once.

    Every request logs a line, and ``strftime`` per line cost as much as the
    rest of the formatting.  The text is exactly the default ``asctime``.
    """

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: Optional[str] = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(self.default_time_format,
                                              self.converter(record.created))
            self._second = second
        return self.default_msec_format % (self._second_text, record.msecs)


def trim_log_records() -> None:
    """Stop filling the LogRecord fields that LOG_FORMAT never prints.

    By default every record looks up its caller's frame, the current thread
    (a weak-dict lookup per green thread under eventlet), the process id and
    the multiprocessing name: about half of what a request's log line costs.
    logging's switches are process-wide, so only a server's or daemon's entry
    point calls this.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class _ReopenedFileHandler(logging.handlers.WatchedFileHandler):
    """A log file that follows logrotate, looking for a new file once a second.

    The stock handler stats the path before every line: a system call per
    request in every server.  A line written in the second after a rotation
    goes to the rotated file, which keeps it.
    """

    def __init__(self, filename: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(filename)
        self._clock = clock
        self._next_look = clock() + 1.0

    def reopenIfNeeded(self) -> None:
        now = self._clock()
        if now >= self._next_look:
            self._next_look = now + 1.0
            super().reopenIfNeeded()


class _TransIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.trans_id = _trans_id.get()
        return True


def get_logger(name: str, conf: Optional[Mapping[str, Any]] = None) -> logging.Logger:
    """A logger for one server/daemon/middleware, configured once per name.

    ``conf`` may carry ``log_level`` (INFO), ``log_file`` (stderr when unset).
    """
    # ``conf`` is a whole section: take the log options, leave the rest to its owner.
    settings = LogSettings.from_section(inherited=conf)
    logger = logging.getLogger("objstore." + name if not name.startswith("objstore") else name)
    if any(isinstance(f, _TransIdFilter) for h in logger.handlers for f in h.filters):
        return logger  # configured already (by this process's first caller)
    logger.setLevel(getattr(logging, settings.log_level, logging.INFO))
    handler: logging.Handler
    if settings.log_file:
        handler = _ReopenedFileHandler(settings.log_file)
    else:
        handler = _StderrHandler()
    handler.setFormatter(_LineFormatter())
    handler.addFilter(_TransIdFilter())
    logger.addHandler(handler)
    logger.propagate = False
    return logger

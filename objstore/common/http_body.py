"""Reading a message body exactly as its framing says (RFC 9112 §6 and §7.1).

:class:`ChunkedDecoder` is the one strict reader of ``Transfer-Encoding:
chunked`` bodies; the WSGI server's request input and the backend client's
responses both use it.  A chunk size must be plain hex digits, every line ends
in CRLF, chunk data is followed by CRLF and trailers are well-formed field
lines; anything else raises :class:`MalformedBody` and the connection is not
reused, so no body byte is ever read as the next message.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

from objstore.common.http_wire import HeadLimits, HttpParseError, read_field_lines

# chunk = chunk-size [ chunk-ext ] CRLF: 1*HEXDIG, then optionally ";" and
# extensions (ignored, but free of control bytes); BWS is allowed before ";".
_CHUNK_HEADER = re.compile(rb"([0-9A-Fa-f]{1,16})([ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?\r\n\Z")
MAX_CHUNK_HEADER = 4096
TRAILER_LIMITS = HeadLimits(max_line=8192, max_header_count=32, max_head_bytes=16384)


class MalformedBody(HttpParseError):
    """The body breaks its framing: answer 400 and close the connection."""

    def __init__(self, reason: str):
        super().__init__(400, "Bad Request (%s)" % reason)


class ChunkedDecoder:
    """Chunk payload bytes from a file object holding a chunked body."""

    def __init__(self, rfile: Any):
        self.rfile = rfile
        self.left_in_chunk = 0
        self.done = False
        self.trailers: list[tuple[str, str]] = []    # once done: the trailer's fields

    def _next_chunk(self) -> None:
        line = self.rfile.readline(MAX_CHUNK_HEADER + 1)
        if not line:
            raise MalformedBody("chunked body ended early")
        match = _CHUNK_HEADER.match(line)
        if match is None:
            raise MalformedBody("invalid chunk header")
        self.left_in_chunk = int(match.group(1), 16)
        if self.left_in_chunk == 0:
            self.trailers = read_trailers(self.rfile)
            self.done = True

    def _end_of_chunk(self) -> None:
        if self.rfile.read(2) != b"\r\n":
            raise MalformedBody("chunk data longer than its size")

    def read(self, size: Optional[int] = None) -> bytes:
        """Up to ``size`` payload bytes (all that is left when None); b"" at the end."""
        pieces = []
        want = size if size is not None and size >= 0 else None
        while not self.done and (want is None or want > 0):
            if self.left_in_chunk == 0:
                self._next_chunk()
                continue
            step = self.left_in_chunk if want is None else min(want, self.left_in_chunk)
            data = self.rfile.read(step)
            if not data:
                raise MalformedBody("chunked body ended early")
            pieces.append(data)
            self.left_in_chunk -= len(data)
            if want is not None:
                want -= len(data)
            if self.left_in_chunk == 0:
                self._end_of_chunk()
            if size is not None:
                # One chunk at a time for a bounded read keeps streaming responsive.
                break
        return b"".join(pieces)


def read_trailers(rfile: Any) -> list[tuple[str, str]]:
    """The trailer section after the last chunk, as (name, value) pairs."""
    try:
        return read_field_lines(rfile.readline, TRAILER_LIMITS)
    except HttpParseError as err:
        raise MalformedBody("invalid trailer: %s" % err.reason) from None


class RequestInput:
    """``wsgi.input`` for one request: exactly the body its framing announced.

    It sends ``100 Continue`` on the first read when the client asked for it
    (that is how the proxy learns a node is ready before it streams), reads
    a fixed-length body to its end and no further, and decodes a chunked body
    strictly.  ``close_connection`` is called when the body breaks its framing
    or is left unread, so the server never reads what follows as a request.
    """

    def __init__(self, rfile: Any, framing_chunked: bool, length: int,
                 send_continue: Optional[Callable[[], None]],
                 close_connection: Callable[[], None], max_discard: int = 1 << 20):
        self.rfile = rfile
        self.chunked_input = framing_chunked
        self.content_length = None if framing_chunked else length
        self.position = 0
        self._decoder = ChunkedDecoder(rfile) if framing_chunked else None
        self._send_continue = send_continue
        self._close_connection = close_connection
        self.max_discard = max_discard
        # Set by the server to the list that becomes non-empty once the
        # response headers are out (too late for a 100 Continue then).
        self.headers_sent: Optional[list] = None

    @property
    def should_send_hundred_continue(self) -> bool:
        return self._send_continue is not None

    @property
    def trailers(self) -> list[tuple[str, str]]:
        """A chunked body's trailer fields, once it has been read to its end."""
        return self._decoder.trailers if self._decoder is not None else []

    @property
    def finished(self) -> bool:
        if self._decoder is not None:
            return self._decoder.done
        return self.position >= (self.content_length or 0)

    def _maybe_continue(self) -> None:
        if self._send_continue is not None:
            send, self._send_continue = self._send_continue, None
            if not self.headers_sent:
                send()

    def read(self, size: Optional[int] = None) -> bytes:
        if self.finished:
            return b""
        self._maybe_continue()
        try:
            if self._decoder is not None:
                data = self._decoder.read(size)
            else:
                left = self.content_length - self.position
                want = left if size is None or size < 0 else min(size, left)
                data = self.rfile.read(want)
        except (MalformedBody, OSError):
            self._close_connection()
            raise
        self.position += len(data)
        return data

    def readline(self, size: Optional[int] = None) -> bytes:
        # Bodies are read in blocks everywhere in objstore; a line reader that
        # honours framing is the block reader cut at the first LF.
        line = []
        while size is None or size < 0 or len(line) < size:
            byte = self.read(1)
            if not byte:
                break
            line.append(byte)
            if byte == b"\n":
                break
        return b"".join(line)

    def readlines(self, hint: Optional[int] = None) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(lambda: self.read(65536), b"")

    def discard(self) -> bool:
        """Read and drop what the app left unread, up to ``max_discard`` bytes.

        True when the body ended cleanly, so the connection can carry another
        request; otherwise (too long to be worth reading, broken, or a client
        still waiting for ``100 Continue``) the connection is closed.
        """
        if self._send_continue is None:
            dropped = 0
            try:
                while not self.finished and dropped <= self.max_discard:
                    data = self.read(min(65536, self.max_discard + 1 - dropped))
                    if not data:
                        break
                    dropped += len(data)
            except (MalformedBody, OSError):
                return False
            if self.finished:
                return True
        self._close_connection()
        return False

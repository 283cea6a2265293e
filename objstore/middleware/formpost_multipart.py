"""A streaming multipart/form-data reader: one part at a time, never the whole body.

A browser's upload may be gigabytes; the reader holds at most one read
chunk plus a delimiter's worth of bytes, and hands each part's body out as
a file-like object that ends where the next delimiter begins.  Anything that
is not well-formed multipart (no opening delimiter, an endless header block,
a body that ends before the closing delimiter) raises :class:`MultipartError`
with a short reason for the client.
"""
from __future__ import annotations

from typing import IO, Iterator, Optional

READ_CHUNK_SIZE = 65536
# A part's header block (Content-Disposition, Content-Type) is small.
MAX_HEADER_BLOCK = 8192
HEADER_END = b"\r\n\r\n"


class MultipartError(ValueError):
    """The body is not the multipart/form-data it claims to be."""


class FormPart:
    """One part: its headers, and its body to ``read`` until the next delimiter."""

    def __init__(self, reader: "MultipartReader", headers: dict[str, str]):
        self.reader = reader
        self.headers = headers
        self.finished = False

    def read(self, size: int = -1) -> bytes:
        if self.finished:
            return b""
        data = self.reader.read_body(READ_CHUNK_SIZE if size is None or size < 0 else size)
        if not data:
            self.finished = True
        return data

    def drain(self) -> None:
        while self.read(READ_CHUNK_SIZE):
            pass

    def disposition(self) -> tuple[str, dict[str, str]]:
        """(``form-data``, {``name``: ..., ``filename``: ...}) from Content-Disposition."""
        return parse_header_params(self.headers.get("content-disposition", ""))


def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="a"; filename="b c"`` -> (``form-data``, {name: a, filename: b c}).

    Quoted values may hold ``;`` and backslash-escaped quotes; parameter names
    are lower-cased.  Also reads ``multipart/form-data; boundary=...``.
    """
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    params: dict[str, str] = {}
    for item in items[1:]:
        name, sep, param = item.partition("=")
        if sep:
            params[name.strip().lower()] = param.strip()
    return items[0].strip().lower(), params


class MultipartReader:
    """Walks the parts of ``stream`` separated by ``boundary``."""

    def __init__(self, stream: IO[bytes], boundary: str, chunk_size: int = READ_CHUNK_SIZE):
        if not boundary or len(boundary) > 200:
            raise MultipartError("invalid starting boundary")
        self.stream = stream
        self.chunk_size = chunk_size
        self.delimiter = b"\r\n--" + boundary.encode("latin-1")
        # The opening delimiter may start the body without a CRLF before it.
        self.buffer = b"\r\n"
        self.eof = False
        self.part_done = True

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(self.chunk_size)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def parts(self) -> Iterator[FormPart]:
        self._skip_preamble()
        while True:
            if not self._after_delimiter():
                return
            part = FormPart(self, self._read_headers())
            self.part_done = False
            yield part
            part.drain()

    def _skip_preamble(self) -> None:
        while True:
            index = self.buffer.find(self.delimiter)
            if index >= 0:
                self.buffer = self.buffer[index + len(self.delimiter):]
                return
            self.buffer = self.buffer[-len(self.delimiter):]
            if not self._fill():
                raise MultipartError("invalid starting boundary")

    def _after_delimiter(self) -> bool:
        """True when a part follows the delimiter just consumed, False at the closing one."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer.startswith(b"--"):
            return False
        # Transport padding (spaces, tabs) may sit between the delimiter and its CRLF.
        while True:
            line_end = self.buffer.find(b"\r\n")
            if line_end >= 0:
                if self.buffer[:line_end].strip(b" \t"):
                    raise MultipartError("malformed delimiter line")
                self.buffer = self.buffer[line_end + 2:]
                return True
            if len(self.buffer) > 1024 or not self._fill():
                raise MultipartError("malformed delimiter line")

    def _read_headers(self) -> dict[str, str]:
        while True:
            if self.buffer.startswith(b"\r\n"):
                self.buffer = self.buffer[2:]
                return {}
            end = self.buffer.find(HEADER_END)
            if end >= 0:
                block, self.buffer = self.buffer[:end], self.buffer[end + 4:]
                return self._parse_headers(block)
            if len(self.buffer) > MAX_HEADER_BLOCK:
                raise MultipartError("part headers too long")
            if not self._fill():
                raise MultipartError("body ended inside a part's headers")

    @staticmethod
    def _parse_headers(block: bytes) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if not sep:
                raise MultipartError("malformed part header")
            headers[name.strip().lower()] = value.strip()
        return headers

    def read_body(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current part ('' at its end)."""
        if self.part_done:
            return b""
        while True:
            index = self.buffer.find(self.delimiter)
            if index >= 0:
                if index == 0:
                    self.buffer = self.buffer[len(self.delimiter):]
                    self.part_done = True
                    return b""
                take = min(index, size)
                data, self.buffer = self.buffer[:take], self.buffer[take:]
                return data
            # Keep a delimiter's length back: it may be split across reads.
            safe = len(self.buffer) - len(self.delimiter)
            if safe > 0:
                take = min(safe, size)
                data, self.buffer = self.buffer[:take], self.buffer[take:]
                return data
            if not self._fill():
                raise MultipartError("body ended before the closing boundary")


def read_field(part: FormPart, limit: int) -> Optional[str]:
    """A form field's value (None if longer than ``limit`` bytes; the rest is drained)."""
    data = b""
    while len(data) <= limit:
        chunk = part.read(limit + 1 - len(data))
        if not chunk:
            return data.decode("utf-8", "replace")
        data += chunk
    part.drain()
    return None

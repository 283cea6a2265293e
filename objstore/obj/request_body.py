"""Reading an object PUT's body from the client, chunk by chunk, with a deadline.

Both fixed ``Content-Length`` and chunked transfer are read in
``network_chunk_size`` pieces; nothing buffers the whole object.  Each read
runs under ``client_timeout`` so a stalled client costs one green thread for
a bounded time (408), and a body that ends early means the client went away
(499).

Between chunks the reader yields to the other green threads: a read from a
socket that already holds data never blocks, so without it one fast upload
could keep the process to itself while every other upload's sender waits,
and time out, on a full socket.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

from objstore.common.concurrency import Timeout, sleep
from objstore.common.http_wire import HttpParseError


class ClientTimeout(Exception):
    """The client sent nothing for ``client_timeout`` seconds (408)."""


class ClientDisconnect(Exception):
    """The body ended before its Content-Length (499)."""


class BodyTooLarge(Exception):
    """A chunked body grew past max_file_size (413)."""


class MalformedBody(Exception):
    """The body broke its framing (400); the server closes the connection."""


def iter_body(wsgi_input: Any, content_length: Optional[int], chunk_size: int,
              client_timeout: float, max_size: int) -> Iterator[bytes]:
    """Yield the body's chunks; raise the exceptions above on trouble."""
    remaining = content_length
    total = 0
    while remaining is None or remaining > 0:
        want = chunk_size if remaining is None else min(chunk_size, remaining)
        deadline = Timeout(client_timeout)
        try:
            chunk = wsgi_input.read(want)
        except Timeout as fired:
            if fired is not deadline:
                raise
            raise ClientTimeout() from None
        except HttpParseError as err:
            raise MalformedBody(err.reason) from None
        except (OSError, ValueError) as err:
            raise ClientDisconnect(str(err)) from None
        finally:
            deadline.cancel()
        if not chunk:
            if remaining is None:
                return
            raise ClientDisconnect("body ended %d bytes early" % remaining)
        total += len(chunk)
        if total > max_size:
            raise BodyTooLarge()
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk
        if remaining is None or remaining > 0:
            sleep(0)

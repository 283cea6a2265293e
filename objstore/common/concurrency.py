"""The one module that imports eventlet.

Everything else asks this module for green threads, pools, timeouts, sockets
and the WSGI server, so a later move to native threads or asyncio changes this
file only.  Servers call :func:`monkey_patch` once, first thing at start-up;
library code must not depend on patching having happened.
"""
from __future__ import annotations

import contextvars
import logging
import os
import socket
import ssl
import warnings
from typing import Any, Callable, Optional

# eventlet announces its maintenance mode on import; the choice is deliberate
# (and contained in this module), so keep it out of every log and test run.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402
import eventlet.debug
import eventlet.greenio
import eventlet.queue
import eventlet.semaphore
import eventlet.tpool
import eventlet.wsgi
from eventlet.green import socket as green_socket  # noqa: F401  (re-exported)
from eventlet.green import ssl as green_ssl

class GreenPool(eventlet.GreenPool):
    """A pool whose green threads inherit the caller's context (trans id for logs)."""

    def spawn(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        return super().spawn(contextvars.copy_context().run, func, *args, **kwargs)

    def spawn_n(self, func: Callable, *args: Any, **kwargs: Any) -> None:
        super().spawn_n(contextvars.copy_context().run, func, *args, **kwargs)


class GreenPile(eventlet.GreenPile):
    """Results of green threads in the order spawned; threads inherit the context."""

    def __init__(self, size_or_pool: Any = 1000):
        if not isinstance(size_or_pool, eventlet.GreenPool):
            size_or_pool = GreenPool(size_or_pool)
        super().__init__(size_or_pool)


def spawn(func: Callable, *args: Any, **kwargs: Any) -> Any:
    """Start a green thread that sees the caller's context variables."""
    return eventlet.spawn(contextvars.copy_context().run, func, *args, **kwargs)


def spawn_n(func: Callable, *args: Any, **kwargs: Any) -> None:
    eventlet.spawn_n(contextvars.copy_context().run, func, *args, **kwargs)


Timeout = eventlet.Timeout
Event = eventlet.Event
Queue = eventlet.queue.Queue
LightQueue = eventlet.queue.LightQueue
QueueEmpty = eventlet.queue.Empty
Semaphore = eventlet.semaphore.Semaphore
GreenThread = eventlet.greenthread.GreenThread
spawn_after = eventlet.spawn_after
sleep = eventlet.sleep
kill = eventlet.kill
getcurrent = eventlet.getcurrent

class SignalFlag:
    """A flag a signal handler raises and a green thread waits for, with no polling.

    A Python signal handler may run inside the hub, where switching green
    threads is unsafe, so it only writes a byte to a pipe (safe anywhere); the
    hub sees the pipe readable and wakes :meth:`wait` at once.  A stopping
    server then exits as soon as it is asked, not at its next poll.
    """

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self.raised = False

    def raise_flag(self) -> None:
        """Safe in a signal handler: a flag and one non-blocking write."""
        self.raised = True
        try:
            os.write(self._write_fd, b"!")
        except BlockingIOError:  # the pipe is full: the waiter is woken already
            pass

    def wait(self) -> None:
        """Block this green thread (not the hub) until :meth:`raise_flag`."""
        while not self.raised:
            eventlet.hubs.trampoline(self._read_fd, read=True)
            try:
                os.read(self._read_fd, 64)
            except BlockingIOError:
                pass


def monkey_patch() -> None:
    """Make the stdlib cooperative (sockets, time, threads).  Idempotent."""
    if eventlet.patcher.is_monkey_patched("socket"):
        return
    eventlet.monkey_patch(all=False, socket=True, select=True, thread=True, time=True,
                          os=False)
    # Swift's lesson: hub exceptions printed to stderr hide nothing useful.
    eventlet.debug.hub_exceptions(False)


def tpool_execute(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking call in a real OS thread so the hub keeps serving."""
    return eventlet.tpool.execute(func, *args, **kwargs)


def green_listen(addr: tuple[str, int], backlog: int = 4096,
                 family: int = socket.AF_INET) -> Any:
    """A green listening socket (SO_REUSEADDR, and SO_REUSEPORT when available)."""
    sock = eventlet.listen(addr, family=family, backlog=backlog, reuse_port=False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def wrap_socket(sock: socket.socket) -> Any:
    """Turn an already bound plain socket (inherited across fork) into a green one."""
    return eventlet.greenio.GreenSocket(sock)


def tls_server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) holding the certificate chain and key.

    Raises OSError / ssl.SSLError when the files are missing or do not match.
    """
    context = green_ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def tls_listener(sock: Any, context: ssl.SSLContext) -> Any:
    """``sock`` (listening, green) serving TLS.  Accepting does not handshake:
    each connection's handshake runs in its own green thread on its first read,
    so a client that never finishes one holds up nobody else."""
    return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)


class _NullLog:
    """eventlet.wsgi writes one access line per request; proxy_logging owns that job."""

    def write(self, *args: Any) -> None:
        pass

    def info(self, *args: Any, **kwargs: Any) -> None:
        pass

    debug = error = warning = info


# The base of objstore's own HTTP protocol class (objstore.common.http_protocol):
# eventlet's handler owns the connection loop and the response writing, the
# subclass owns everything it reads.
HttpProtocolBase = eventlet.wsgi.HttpProtocol
# What a connection is doing, as the server's graceful shutdown reads it.
CONNECTION_BUSY = eventlet.wsgi.STATE_REQUEST


def serve_wsgi(sock: Any, app: Callable, *, max_clients: int = 1024,
               client_timeout: Optional[float] = 60.0, log: Optional[logging.Logger] = None,
               keepalive: bool = True, protocol: type,
               max_request_line: int = 8192) -> None:
    """Serve ``app`` on ``sock`` with ``protocol`` (a HttpProtocolBase) until closed."""
    pool = eventlet.GreenPool(size=max_clients)
    eventlet.wsgi.server(
        sock, app, custom_pool=pool, log=log or _NullLog(), log_output=False,
        socket_timeout=client_timeout, keepalive=keepalive, minimum_chunk_size=4096,
        debug=False, max_size=max_clients, protocol=protocol,
        url_length_limit=max_request_line)


def hub_id() -> int:
    """Identifies the calling OS thread's hub (green threads of one hub may share state)."""
    return id(eventlet.hubs.get_hub())


def get_hub_name() -> str:
    return type(eventlet.hubs.get_hub()).__module__

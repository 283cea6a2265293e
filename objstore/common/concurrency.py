"""The one module that imports eventlet.

Everything else asks this module for green threads, pools, timeouts, sockets
and the WSGI server, so a later move to native threads or asyncio changes this
file only.  Servers call :func:`monkey_patch` once, first thing at start-up;
library code must not depend on patching having happened.
"""
from __future__ import annotations

import collections
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
import eventlet.hubs
import eventlet.patcher
import eventlet.queue
import eventlet.semaphore
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


_real_thread = eventlet.patcher.original("_thread")


class _ThreadOffload:
    """Real OS threads that run one hub's blocking calls, waking as little as possible.

    Under load a handoff costs more in wake-ups than the call it carries:
    each worker waiting for the GIL, and each signal back to the hub, is a
    futex call and a context switch.  eventlet.tpool pays about five switches
    per call (a Condition-guarded queue each way and a byte per result);
    measured on 2 cores with 16 green threads handing over a call that does
    nothing, 185 us of CPU per call.  Here a call costs one lock release to
    wake an idle thread (none when a busy thread will find the work), and a
    byte to the hub only when it has not been told already: 2 switches and
    96 us in the same measurement.  The thread that first hands a call over
    owns the pool (its hub delivers the results); any other thread runs its
    calls itself, as it has no hub of ours to go back to.
    """

    def __init__(self, max_threads: int) -> None:
        self._max_threads = max_threads
        self._owner: Optional[int] = None  # set by the first call
        self._fds: tuple[int, ...] = ()
        self._reset()
        os.register_at_fork(after_in_child=self._forget_parents_threads)

    def _reset(self) -> None:
        self._jobs: collections.deque = collections.deque()  # (event, func, args, kwargs)
        self._done: collections.deque = collections.deque()  # (event, ok, value)
        self._idle: list = []  # the wake locks of threads waiting for work
        self._started = 0
        self._told = False  # a byte is on its way to the hub already

    def _forget_parents_threads(self) -> None:
        """In a forked child: it has the parent's pipe and queues but none of its threads.

        The pipe is closed here so the child's copy of the hub cannot take
        the bytes meant for the parent's, and the hub is told, so the copied
        deliverer ends and a new pipe may reuse the numbers.
        """
        for fd in self._fds:
            os.close(fd)
        if self._fds:
            eventlet.hubs.notify_opened(self._fds[0])
        self._fds = ()
        self._owner = None
        self._reset()

    def _start(self) -> None:
        self._fds = os.pipe()
        for fd in self._fds:
            os.set_blocking(fd, False)
        self._owner = _real_thread.get_ident()
        eventlet.spawn_n(self._deliver, self._fds[0])

    def run(self, func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        if self._owner is None:
            self._start()
        if _real_thread.get_ident() != self._owner:
            return func(*args, **kwargs)
        done = eventlet.Event()
        self._jobs.append((done, func, args, kwargs))
        try:
            self._idle.pop().release()
        except IndexError:  # every thread is busy: one of them finds the job
            if self._started < self._max_threads:
                self._started += 1
                _real_thread.start_new_thread(self._work, (_real_thread.allocate_lock(),))
        ok, value = done.wait()
        if not ok:
            raise value
        return value

    def _work(self, wake: Any) -> None:
        """A new thread's loop: the job that made it is waiting for it already."""
        jobs, idle, done, write_fd = self._jobs, self._idle, self._done, self._fds[1]
        # A woken thread that preempts the hub finds the GIL held and at once
        # hands the CPU back; as a batch thread it waits for the hub to yield
        # instead (A/B, 4 runs: CPU per PUT -2% to -10%, per DELETE 0 to -8%).
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except (AttributeError, OSError):  # not Linux, or not allowed
            pass
        wake.acquire()  # held while working; the hub releases it to wake us
        wait_first = False
        while True:
            if wait_first:
                wake.acquire()
            wait_first = True
            while jobs:
                try:
                    event, func, args, kwargs = jobs.popleft()
                except IndexError:  # another thread took it
                    break
                try:
                    done.append((event, True, func(*args, **kwargs)))
                except BaseException as err:  # the caller re-raises it
                    done.append((event, False, err))
                del event, func, args, kwargs
                if not self._told:
                    self._told = True
                    try:
                        os.write(write_fd, b"!")
                    except BlockingIOError:
                        pass
            idle.append(wake)
            if jobs:  # work came between our last look and listing ourselves idle
                try:
                    idle.remove(wake)
                except ValueError:  # the hub took us off the list: its release is coming
                    continue
                wait_first = False

    def _deliver(self, read_fd: int) -> None:
        while True:
            try:
                eventlet.hubs.trampoline(read_fd, read=True)
            except eventlet.hubs.IOClosed:  # a forked child let go of the parent's pipe
                return
            try:
                os.read(read_fd, 4096)
            except BlockingIOError:
                pass
            self._told = False  # before draining, so a later result writes again
            done = self._done
            while done:
                event, ok, value = done.popleft()
                event.send((ok, value))


# One per process, like the hub it serves; its threads start on first use.
OFFLOAD = _ThreadOffload(max_threads=20)


def tpool_execute(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking call in a real OS thread so the hub keeps serving."""
    return OFFLOAD.run(func, args, kwargs)


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

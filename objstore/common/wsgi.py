"""Run a WSGI server from its config file, with worker processes and clean shutdown.

The parent binds the socket once, then forks ``workers`` children that each
build the app and serve the shared socket (so a cache or a SQLite handle is
never shared across a fork).  ``workers = 0`` serves in the parent, which is
what tests and the smallest deployments want.  SIGTERM stops accepting and
lets in-flight requests finish (up to ``graceful_shutdown_timeout``); SIGHUP
in the parent replaces the workers one by one after a config change.
"""
from __future__ import annotations

import errno
import os
import signal
import socket
import ssl
import time
from typing import Callable, Optional

from objstore.common import concurrency
from objstore.common.cluster_config import (ClusterConfig, load_cluster_config,
                                            request_head_limits)
from objstore.common.config import ConfigError, read_config_file
from objstore.common.config_check import check_server_config
from objstore.common.heap import settle_heap
from objstore.common.http_protocol import serve_http
from objstore.common.http_wire import HeadLimits
from objstore.common.logs import get_logger, trim_log_records
from objstore.common.pipeline import load_app
from objstore.common.server_settings import ServerSettings


def bind_socket(settings: ServerSettings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.bind_ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline = time.time() + 30
    while True:
        try:
            sock.bind((settings.bind_ip, settings.bind_port))
            break
        except OSError as err:
            if err.errno != errno.EADDRINUSE or time.time() > deadline:
                raise ConfigError("cannot bind %s:%s: %s" % (
                    settings.bind_ip, settings.bind_port, err.strerror)) from None
            time.sleep(0.2)
    sock.listen(settings.backlog)
    return sock


def tls_context_for(settings: ServerSettings) -> Optional[ssl.SSLContext]:
    """The TLS context ``cert_file``/``key_file`` name (None: plain HTTP), loaded
    before anything is served so a bad certificate stops the start with one line."""
    if not settings.cert_file:
        return None
    try:
        return concurrency.tls_server_context(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError("cannot load cert_file %s / key_file %s: %s" % (
            settings.cert_file, settings.key_file, err)) from None


def _serve(sock: socket.socket, app: Callable, settings: ServerSettings, logger,
           head_limits: HeadLimits, tls: Optional[ssl.SSLContext] = None) -> None:
    """Serve until SIGTERM/SIGHUP, then finish in-flight requests and return.

    A signal only raises a flag: the handler runs inside the hub, where little is
    safe to do.  A watcher green thread wakes on the flag at once, stops the
    accept loop (eventlet's server treats SystemExit as "stop
    accepting, wait for the requests in flight") and, should those hang, ends
    the process after ``graceful_shutdown_timeout``.
    """
    settle_heap()
    green = concurrency.wrap_socket(sock)
    if tls is not None:
        green = concurrency.tls_listener(green, tls)
    stopping = concurrency.SignalFlag()
    server_greenlet = concurrency.getcurrent()

    def _on_signal(signum, frame):  # noqa: ANN001 - signal handler signature
        stopping.raise_flag()

    def _watch() -> None:
        stopping.wait()
        logger.info("%s stopping: finishing requests in flight", settings.log_name)
        concurrency.kill(server_greenlet, SystemExit)
        concurrency.sleep(settings.graceful_shutdown_timeout)
        logger.warning("%s: requests still running after %ss; exiting",
                       settings.log_name, settings.graceful_shutdown_timeout)
        os._exit(0)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    concurrency.spawn_n(_watch)
    serve_http(green, app, head_limits=head_limits, max_clients=settings.max_clients,
               client_timeout=settings.client_timeout)


def run_wsgi(conf_path: str, app_name: str = "main", *,
             ready_fd: Optional[int] = None) -> int:
    """Serve the app that ``conf_path`` describes until SIGTERM.  Returns an exit code."""
    concurrency.monkey_patch()
    trim_log_records()
    # objstore.conf and every section of this file are checked before anything
    # binds or logs, so a mistake is one line on stderr.
    defaults = read_config_file(conf_path).global_conf()
    cluster = load_cluster_config(server_conf=defaults)
    check_server_config(conf_path)
    settings = ServerSettings.from_section(inherited=defaults)
    logger = get_logger(settings.log_name, defaults)
    tls = tls_context_for(settings)
    sock = bind_socket(settings)
    if ready_fd is not None:
        os.write(ready_fd, b"%d\n" % sock.getsockname()[1])
        os.close(ready_fd)
    if settings.workers == 0:
        app = load_app(conf_path, cluster, app_name)
        logger.info("%s serving on %s:%s", settings.log_name, *sock.getsockname()[:2])
        _serve(sock, app, settings, logger, request_head_limits(cluster.constraints), tls)
        return 0
    return _run_workers(sock, conf_path, app_name, settings, logger, cluster, tls)


def _run_workers(sock: socket.socket, conf_path: str, app_name: str,
                 settings: ServerSettings, logger, cluster: ClusterConfig,
                 tls: Optional[ssl.SSLContext] = None) -> int:
    children: dict[int, float] = {}
    state = {"running": True, "reload": False}

    def spawn_worker() -> None:
        pid = os.fork()
        if pid == 0:
            try:
                # Until _serve installs its graceful handlers, a signal must
                # simply end this child, not run the parent's handlers.
                for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                    signal.signal(signum, signal.SIG_DFL)
                app = load_app(conf_path, cluster, app_name)
                _serve(sock, app, settings, logger, request_head_limits(cluster.constraints),
                       tls)
            except BaseException:  # noqa: BLE001 - a child must exit, never return
                logger.exception("worker failed")
                os._exit(1)
            os._exit(0)
        children[pid] = time.time()

    def on_term(signum, frame):  # noqa: ANN001
        state["running"] = False

    def on_hup(signum, frame):  # noqa: ANN001
        state["reload"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    for _ in range(settings.workers):
        spawn_worker()
    logger.info("%s serving on %s:%s with %d workers", settings.log_name,
                *sock.getsockname()[:2], settings.workers)
    while state["running"]:
        if state["reload"]:
            state["reload"] = False
            old = list(children)
            for pid in old:
                _signal(pid, signal.SIGTERM)
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid and pid in children:
            children.pop(pid, None)
            if state["running"]:
                spawn_worker()
            continue
        time.sleep(0.1)
    for pid in list(children):
        _signal(pid, signal.SIGTERM)
    deadline = time.time() + settings.graceful_shutdown_timeout
    while children and time.time() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            children.pop(pid, None)
        else:
            time.sleep(0.05)
    for pid in list(children):
        _signal(pid, signal.SIGKILL)
    sock.close()
    return 0


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass

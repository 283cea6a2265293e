"""What the account, container and object servers share as WSGI apps.

Each answers verb-named handlers (``def PUT(self, req)``), takes the request's
trans id from the proxy's ``X-Trans-Id`` so its log lines can be matched with
the proxy's, turns a bug into a logged 500 instead of a dead worker, and writes
one access line per request (the lines an operator greps a trans id for).
"""
from __future__ import annotations

import os
import time
import urllib.parse
from typing import Any, Callable, Iterable, Mapping, Optional

from webob import Request, Response
from webob.exc import HTTPException

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.constraints import MetadataError, check_metadata_update
from objstore.common.db import DatabaseBusy, DatabaseNotFound, DatabaseQuarantined
from objstore.common.db_connections import IdleDbConnections
from objstore.common.db_replication import ReplicationReceiver
from objstore.common.durable_fs import check_device
from objstore.common.http_text import wsgi_to_bytes
from objstore.common.logs import (TRANS_ID_HEADER, get_logger, get_trans_id, new_trans_id,
                                  set_trans_id)
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.storage_request import http_error, split_backend_path, text_response

# The brokers a request opened, released when its answer is built.
REQUEST_BROKERS_KEY = "objstore.db_brokers"


def access_line(req: Request, status: int, content_length: object, began: float) -> str:
    """``client - - [date] "VERB path" status length "referer" "trans id" "agent" secs "-" pid policy``.

    Space-separated with URL-quoted fields, so it splits safely whatever the
    object name holds.
    """
    path = req.environ.get("PATH_INFO", "")
    raw_path = wsgi_to_bytes(path) if isinstance(path, str) else path
    query = req.environ.get("QUERY_STRING", "")
    quoted = urllib.parse.quote(raw_path, safe="/") + ("?" + query if query else "")
    return '%s - - [%s] "%s %s" %s %s "%s" "%s" "%s" %.4f "-" %d %s' % (
        req.environ.get("REMOTE_ADDR", "-"),
        time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(began)),
        req.method, quoted, status,
        content_length if content_length is not None else "-",
        urllib.parse.quote(req.referer or "-", safe=":/"),
        get_trans_id(),
        urllib.parse.quote(req.user_agent or "-", safe=" ()/;.,:"),
        time.time() - began, os.getpid(),
        req.headers.get(POLICY_INDEX_HEADER) or "-")


class StorageServerApp:
    """Base class; subclasses set ``server_type``, ``config_class`` and the verb handlers.

    ``conf`` is the typed section (the pipeline's factory parsed it) or, in
    tests, a mapping of option strings parsed here.
    """

    server_type = "storage"
    config_class: type[ConfigSection] = ConfigSection
    methods: tuple[str, ...] = ("PUT", "GET", "HEAD", "POST", "DELETE")
    log_requests = True

    def __init__(self, cluster: ClusterConfig, conf: Any = None,
                 logger: Optional[Any] = None) -> None:
        self.cluster = cluster
        self.conf: Any = self.config_class.of(conf)
        self.logger = logger or get_logger(getattr(self.conf, "log_name", self.server_type),
                                           conf if isinstance(conf, Mapping) else None)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        began = time.time()
        req = Request(environ)
        set_trans_id(req.headers.get(TRANS_ID_HEADER) or new_trans_id())
        if req.method not in self.methods:
            resp: Response = text_response(405, "Method not allowed",
                                           {"Allow": ", ".join(sorted(self.methods))})
        else:
            try:
                resp = getattr(self, req.method)(req)
            except HTTPException as exc:
                resp = exc  # type: ignore[assignment]
            except Exception as err:  # noqa: BLE001 - one bad request must not kill the server
                resp = self.error_response(req, err)
            finally:
                self.request_done(req)
        if self.log_requests:
            self.logger.info(access_line(req, resp.status_int, resp.content_length, began))
        return resp(environ, start_response)

    def request_done(self, req: Request) -> None:
        """The handler has built its whole answer: what it held can be let go."""

    def error_response(self, req: Request, err: Exception) -> Response:
        """The answer for an exception a handler raised; subclasses map their own first."""
        self.logger.error("%s server error on %s %s", self.server_type, req.method, req.path,
                          exc_info=err)
        return text_response(500, "Internal server error")


class DatabaseServerApp(StorageServerApp):
    """Base of the account and container servers: how a broker's failure answers.

    Subclasses set ``broker_class``; ``REPLICATE`` (the replicators' verb) is
    the same for both kinds of database.
    """

    methods = StorageServerApp.methods + ("REPLICATE",)
    broker_class: Any = None

    def __init__(self, cluster: ClusterConfig, conf: Any = None,
                 logger: Optional[Any] = None) -> None:
        super().__init__(cluster, conf, logger)
        self.db_connections = IdleDbConnections()

    def kept_broker(self, req: Request, broker: Any) -> Any:
        """``broker`` set to reuse the server's kept connections, given back
        when the request is done."""
        broker.connections = self.db_connections
        req.environ.setdefault(REQUEST_BROKERS_KEY, []).append(broker)
        return broker

    def request_done(self, req: Request) -> None:
        for broker in req.environ.pop(REQUEST_BROKERS_KEY, ()):
            broker.release()

    def REPLICATE(self, req: Request) -> Response:
        device, partition, name_hash = split_backend_path(req, 3, 3)
        device_path = check_device(self.conf.devices, str(device), self.conf.mount_check)
        if device_path is None:
            return text_response(507, "%s is not mounted" % device)
        receiver = ReplicationReceiver(self.broker_class, self.cluster.hasher,
                                       self.conf.db_timeout)
        return receiver.handle(req, device_path, str(partition), str(name_hash))

    def check_stored_metadata(self, broker: Any, updates: Mapping[str, tuple[str, Any]]) -> None:
        """400 when the metadata after ``updates`` would break the count or size limits."""
        stored = {key: value for key, (value, _ts) in broker.metadata.items()}
        try:
            check_metadata_update(stored, {key: value for key, (value, _ts) in updates.items()},
                                  self.server_type, self.cluster.constraints)
        except MetadataError as err:
            raise http_error(400, str(err)) from None

    def error_response(self, req: Request, err: Exception) -> Response:
        kind = self.server_type
        if isinstance(err, DatabaseQuarantined):
            self.logger.error("quarantined %s db: %s", kind, err)
            return text_response(404, "%s database was corrupt" % kind.capitalize())
        if isinstance(err, DatabaseNotFound):
            return text_response(404)
        if isinstance(err, DatabaseBusy):
            self.logger.error("%s db busy: %s", kind, err)
            return text_response(503, "%s database busy" % kind.capitalize())
        return super().error_response(req, err)

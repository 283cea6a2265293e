"""The object server: HTTP in front of DiskFile, speaking the backend protocol.

``VERB /<device>/<partition>/<account>/<container>/<object>``; every write
carries ``X-Timestamp`` and the newest timestamp wins.  This module only
reads requests and writes responses; storage is :mod:`objstore.obj.diskfile`,
container listings are :mod:`objstore.obj.container_update`.

Timestamp rules (as Swift):
- PUT with a timestamp <= the current .data/.ts answers 409 with
  ``X-Backend-Timestamp`` (an identical replay therefore gets a harmless 409
  and changes nothing; the proxy may treat "409 with equal timestamp" as done);
- POST with a timestamp <= the current metadata timestamp answers 409;
- DELETE with a timestamp <= the current .data/.ts answers 409; otherwise it
  writes a tombstone and answers 204 if an object was there, else 404.
  With ``X-If-Delete-At`` (the expirer's) it first needs the object: 404
  when nothing of it is here, 409 as above, 412 when its ``X-Delete-At``
  differs (:func:`objstore.obj.expire_server.expiry_refusal`).

``EXPIRE /<device>`` carries many such expiring deletes at once
(:mod:`objstore.obj.expire_protocol`).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Iterable, Iterator, Mapping, Optional

from webob import Request, Response
from webob.exc import HTTPException, status_map

from objstore.common import body_checksums
from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import TRUE_VALUES, ConfigError, ConfigSection, SpaceReserve
from objstore.common.constraints import MetadataError, check_metadata
from objstore.common.http_response import plain_response
from objstore.common.http_text import str_to_wsgi as _wsgi
from objstore.common.http_text import wsgi_to_str as _text
from objstore.common.http_conditions import (RangeNotSatisfiable, content_range,
                                             evaluate_preconditions, multipart_byteranges,
                                             multipart_length, new_boundary, parse_range,
                                             unsatisfiable_range)
from objstore.common.listing_format import swift_bytes_param
from objstore.common.logs import get_logger, get_trans_id
from objstore.common.pipeline import typed_factory
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.storage_app import StorageServerApp
from objstore.common.storage_request import required_timestamp, split_backend_path
from objstore.common.timestamp import TICKS_PER_SECOND, Timestamp
from objstore.common.expiring_queue import (CLEAN_QUEUE_HEADER, DEFAULT_CONTAINER_DIVISOR,
                                           OPEN_EXPIRED_HEADER)
from objstore.obj import container_update, expiring_update
from objstore.obj.container_batch import ContainerUpdateBatcher
from objstore.obj.diskfile import (AsyncUpdate, DiskFile, DiskFileDeviceUnavailable,
                                   DiskFileExpired, DiskFileNoSpace, DiskFileNotExist,
                                   DiskFileQuarantined, DiskFileRouter, DiskFileWriter,
                                   fs_managers)
from objstore.obj.diskfile.rules import DEFAULT_RECLAIM_AGE
from objstore.obj.expire_protocol import EXPIRE_METHOD
from objstore.obj.expire_server import REFUSAL_REASONS, ExpireVerb, expiry_refusal
from objstore.obj.replication_server import ReplicationVerbs
from objstore.obj.request_body import (BodyTooLarge, ClientDisconnect, ClientTimeout, MalformedBody,
                                       iter_body)

# Headers a PUT stores besides metadata, and that a POST may replace (Swift's
# default allowed_headers).
ALLOWED_HEADERS = ("Content-Disposition", "Content-Encoding", "Content-Language",
                   "Cache-Control", "Expires", "X-Delete-At", "X-Object-Manifest",
                   "X-Robots-Tag")
PUT_ONLY_HEADERS = ("X-Static-Large-Object",)
PUT_META_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-")
POST_META_PREFIXES = ("x-object-meta-", "x-object-transient-sysmeta-")


@dataclasses.dataclass
class ObjectServerConfig(ConfigSection):
    devices: str = "/srv/node"
    mount_check: bool = False
    conn_timeout: float = 0.5
    node_timeout: float = 3.0
    client_timeout: float = 60.0
    # Body reads from the proxy and disk reads for a GET, per step.  1 MiB
    # steps measured 0.5 s/GiB less CPU over the three object servers of a
    # large PUT than 256 KiB, and a large GET sent in 1 MiB pieces costs the
    # proxy 0.3 s/GiB less than in 64 KiB ones (fewer wake-ups per byte).
    # A step never exceeds the object, so small requests read as before;
    # the price is up to 1 MiB held per request in flight (2 for a whole
    # GET, whose last step is held back until its checksum is known).
    network_chunk_size: int = 1048576
    disk_chunk_size: int = 1048576
    # Free space each device keeps: a PUT that would leave less is refused (507).
    fallocate_reserve: SpaceReserve = SpaceReserve(1.0, percent=True)
    keep_cache_size: int = 5242880
    # Seconds a tombstone is kept before replication may forget it; shorter
    # than a node's longest outage would let a deleted object come back.
    reclaim_age: float = DEFAULT_RECLAIM_AGE
    # Must match the proxy's: it finds the queue row of an object's old X-Delete-At.
    expiring_objects_container_divisor: int = DEFAULT_CONTAINER_DIVISOR
    log_name: str = "object-server"

    def validate(self) -> None:
        if self.expiring_objects_container_divisor < 1:
            raise ConfigError("expiring_objects_container_divisor must be >= 1")


def _plain(status: int, reason: str = "", headers: Optional[dict] = None) -> Response:
    """A short text answer; the body says why."""
    return plain_response(status, reason, headers)


def _abort(status: int, reason: str) -> HTTPException:
    """The same answer as an exception, for checks deep inside a handler."""
    return status_map[status](body=reason.encode("utf-8"), content_type="text/plain",
                              charset=None)


def _check_trailer(wsgi_input: Any, writer: DiskFileWriter,
                   length: Optional[int]) -> Optional[Response]:
    """Refuse a body whose trailer does not vouch for what arrived; else name its MD5.

    The trailer's CRC32 is the proxy's, over the bytes it sent; a mismatch
    means damage in transit.  ``length``, when announced, must be the count.
    """
    if length is not None and writer.bytes_written != length:
        return _plain(400, "Body of %d bytes, %s announced %d"
                      % (writer.bytes_written, body_checksums.LENGTH_HEADER, length))
    try:
        md5_hex, crc32 = body_checksums.read_trailer(getattr(wsgi_input, "trailers", []))
    except body_checksums.BadTrailer as err:
        return _plain(400, str(err))
    if crc32 != writer.crc32:
        return _plain(422, "Unprocessable Entity: the body's CRC32 does not match its trailer")
    writer.name_etag(md5_hex)
    return None


def _is_digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²" and "٣")."""
    return bool(text) and text.isascii() and text.isdigit()


def _asks_open_expired(req: Request) -> bool:
    """Only the proxy's backend header opens an expired object; a client's X-Open-Expired
    reaches this server only through the proxy, which decides whether it is allowed."""
    return req.headers.get(OPEN_EXPIRED_HEADER, "").strip().lower() in TRUE_VALUES


def _timestamp_headers(timestamp: Optional[Timestamp]) -> dict[str, str]:
    return {"X-Backend-Timestamp": timestamp.internal} if timestamp else {}


def _validator_headers(df: DiskFile) -> dict[str, str]:
    """What a 412 or 416 still tells about the object: a client that guessed
    wrong learns the current ETag and date without a second request."""
    return {"ETag": df.metadata.get("ETag", ""), "Last-Modified": df.timestamp.http_date,
            "X-Timestamp": df.timestamp.normal,
            "X-Backend-Timestamp": df.timestamp.internal}


class ObjectServer(StorageServerApp):
    """WSGI app; one instance per worker process."""

    server_type = "object"
    config_class = ObjectServerConfig
    conf: ObjectServerConfig
    methods = StorageServerApp.methods + ("REPLICATE", "SSYNC", EXPIRE_METHOD)

    def __init__(self, cluster: ClusterConfig,
                 conf: ObjectServerConfig | Mapping[str, Any] | None = None,
                 managers: Optional[DiskFileRouter] = None, logger: Any = None):
        super().__init__(cluster, conf, logger)
        # one DiskFile manager per policy; a request's policy index picks it
        self.managers = managers or fs_managers(
            cluster.policies, self.conf.devices, cluster.hasher,
            mount_check=self.conf.mount_check, fallocate_reserve=self.conf.fallocate_reserve,
            keep_cache_size=self.conf.keep_cache_size, reclaim_age=self.conf.reclaim_age)
        self.replication = ReplicationVerbs(self.managers, self.conf.network_chunk_size,
                                            self.conf.client_timeout, self.logger)
        self.update_batcher = ContainerUpdateBatcher(self.conf.conn_timeout,
                                                     self.conf.node_timeout, self.logger)
        self.expiry = ExpireVerb(self.managers, self.conf.network_chunk_size,
                                 self.conf.client_timeout, self.logger)

    def REPLICATE(self, req: Request) -> Response:
        """Suffix digests of a partition (for the replicator)."""
        return self.replication.REPLICATE(req)

    def SSYNC(self, req: Request) -> Response:
        """Receive replicated object files (see :mod:`objstore.obj.sync_protocol`)."""
        return self.replication.SSYNC(req)

    def EXPIRE(self, req: Request) -> Response:
        """Many expiring deletes on one device (see :mod:`objstore.obj.expire_protocol`)."""
        return self.expiry.EXPIRE(req)

    def error_response(self, req: Request, err: Exception) -> Response:
        if isinstance(err, (DiskFileDeviceUnavailable, DiskFileNoSpace)):
            return _plain(507, "Insufficient storage: %s" % err)
        return super().error_response(req, err)

    def _parse(self, req: Request) -> tuple[str, str, str, str, str, int]:
        device, partition, account, container, obj = split_backend_path(req, 5, 5)
        if device in (".", ".."):
            raise _abort(400, "Invalid device: %s" % device)
        if not _is_digits(partition):
            raise _abort(400, "Invalid partition: %s" % partition)
        if len(obj.encode("utf-8")) > self.cluster.constraints.max_object_name_length:
            raise _abort(400, "Object name too long")
        raw_index = req.headers.get(POLICY_INDEX_HEADER, "0")
        try:
            index = int(raw_index)
        except ValueError:
            raise _abort(400, "Invalid %s: %r" % (POLICY_INDEX_HEADER, raw_index)) from None
        if index not in self.managers:
            raise _abort(503, "No policy with index %d" % index)
        return device, partition, account, container, obj, index

    def _diskfile(self, req: Request) -> tuple[DiskFile, tuple]:
        parts = self._parse(req)
        device, partition, account, container, obj, index = parts
        return self.managers[index].get_diskfile(device, partition, account, container,
                                                 obj), parts

    @staticmethod
    def _check_delete_at(req: Request) -> None:
        value = req.headers.get("X-Delete-At")
        if value is None:
            return
        if not _is_digits(value):
            raise _abort(400, "Non-integer X-Delete-At")
        if int(value) < time.time():
            raise _abort(400, "X-Delete-At in past")

    def _collect_metadata(self, req: Request, prefixes: tuple,
                          names: tuple) -> dict[str, str]:
        try:
            # checked as sent (WSGI strings), so lengths are the client's bytes
            check_metadata(req.headers, "object", self.cluster.constraints)
        except MetadataError as err:
            raise _abort(400, str(err)) from None
        meta: dict[str, str] = {}
        wanted = {n.lower(): n for n in names}
        for key, value in req.headers.items():
            lower = key.lower()
            if lower.startswith(prefixes):
                meta[_text(key)] = _text(value)
            elif lower in wanted:
                meta[wanted[lower]] = _text(value)
        return meta

    # -- PUT -----------------------------------------------------------------
    def PUT(self, req: Request) -> Response:
        df, (device, _part, account, container, obj, index) = self._diskfile(req)
        timestamp = required_timestamp(req)
        nodes = self._container_nodes(req)
        self._container_nodes(req, "X-Delete-At")  # refuse bad queue targets before writing
        limits = self.cluster.constraints
        chunked = "chunked" in req.headers.get("Transfer-Encoding", "").lower()
        checks_in_trailer = body_checksums.wants_trailer(
            req.headers.get(body_checksums.CHECKS_HEADER))
        length_text = req.headers.get("Content-Length")
        length: Optional[int] = None
        if checks_in_trailer:
            if not chunked:
                return _plain(400, "Body checksums in a trailer need a chunked body")
            length_text = req.headers.get(body_checksums.LENGTH_HEADER)
            if length_text is not None:
                if not _is_digits(length_text):
                    return _plain(400, "Invalid " + body_checksums.LENGTH_HEADER)
                length = int(length_text)
        elif length_text is not None and not chunked:
            if not _is_digits(length_text):
                return _plain(400, "Invalid Content-Length")
            length = int(length_text)
        elif not chunked:
            return _plain(411, "Missing Content-Length or chunked Transfer-Encoding")
        if length is not None and length > limits.max_file_size:
            return _plain(413, "Your request is too large.")
        if not req.headers.get("Content-Type"):
            return _plain(400, "No content type")
        self._check_delete_at(req)
        metadata = self._collect_metadata(req, PUT_META_PREFIXES,
                                          ALLOWED_HEADERS + PUT_ONLY_HEADERS)
        current, live, old_meta = df.current_state()
        if current is not None and current >= timestamp:
            return _plain(409, "Timestamp not newer than existing object",
                          _timestamp_headers(current))
        if live and req.headers.get("If-None-Match", "").strip() == "*":
            return _plain(412, "Precondition Failed: object exists",
                          _timestamp_headers(current))
        writer = df.writer(length)
        try:
            if checks_in_trailer:
                writer.etag_named_by_sender()
            # a chunked body is read to its end, trailer included
            body = iter_body(req.environ["wsgi.input"], None if chunked else length,
                             self.conf.network_chunk_size, self.conf.client_timeout,
                             limits.max_file_size)
            for chunk in body:
                writer.write(chunk)
            if checks_in_trailer:
                refusal = _check_trailer(req.environ["wsgi.input"], writer, length)
                if refusal is not None:
                    return refusal
            client_etag = req.headers.get("ETag", "").strip().strip('"').lower()
            if client_etag and client_etag != writer.etag:
                return _plain(422, "Unprocessable Entity: ETag mismatch")
            metadata.update({"X-Timestamp": timestamp.internal,
                             "Content-Type": _text(req.headers["Content-Type"]),
                             "Content-Length": str(writer.bytes_written),
                             "ETag": writer.etag})
            with self.update_batcher.writing():
                writer.put(metadata)
        except ClientTimeout:
            return _plain(408, "Request Timeout")
        except ClientDisconnect:
            return _plain(499, "Client Disconnect")
        except BodyTooLarge:
            return _plain(413, "Your request is too large.")
        except MalformedBody as err:
            return _plain(400, str(err))
        finally:
            writer.abort()
        self._update_containers(device, account, container, obj, index, nodes, "PUT",
                                timestamp, writer.bytes_written, metadata["Content-Type"],
                                writer.etag, container_update.listing_overrides(metadata))
        self._update_queue(req, device, account, container, obj, index, timestamp,
                           old_meta, metadata.get("X-Delete-At"))
        resp = _plain(201, "", {"ETag": writer.etag,
                                "X-Backend-Timestamp": timestamp.internal})
        return resp

    # -- GET / HEAD ------------------------------------------------------------
    def _open_for_read(self, req: Request) -> tuple[Any, int, Optional[Response]]:
        df, parts = self._diskfile(req)
        try:
            df.open(open_expired=_asks_open_expired(req))
        except DiskFileQuarantined:
            return None, parts[5], _plain(404, "Not Found")
        except DiskFileNotExist as err:
            return None, parts[5], _plain(404, "Not Found", _timestamp_headers(err.timestamp))
        return df, parts[5], None

    def _object_headers(self, df: DiskFile, index: int) -> dict[str, str]:
        meta = df.metadata
        headers = {"Content-Type": _wsgi(meta.get("Content-Type", "application/octet-stream")),
                   "ETag": meta.get("ETag", ""),
                   "X-Timestamp": df.timestamp.normal,
                   "X-Backend-Timestamp": df.timestamp.internal,
                   "X-Backend-Data-Timestamp": df.data_timestamp.internal,
                   "Last-Modified": df.timestamp.http_date,
                   POLICY_INDEX_HEADER: str(index),
                   "Accept-Ranges": "bytes"}
        for key, value in meta.items():
            lower = key.lower()
            if lower.startswith(PUT_META_PREFIXES) or key in ALLOWED_HEADERS \
                    or key in PUT_ONLY_HEADERS:
                headers[_wsgi(key)] = _wsgi(value)
        return headers

    def _precondition(self, req: Request, df: DiskFile,
                      headers: dict[str, str]) -> Optional[Response]:
        last_modified = float(-(-df.timestamp.ticks // TICKS_PER_SECOND))
        status = evaluate_preconditions(req.headers, req.method, df.metadata.get("ETag"),
                                        last_modified)
        if status is None:
            return None
        if status == 304:
            keep = {k: v for k, v in headers.items() if k != "Content-Type"}
            resp = Response(status=304, headers=keep)
            del resp.content_type
            return resp
        return _plain(412, "Precondition Failed", _validator_headers(df))

    def HEAD(self, req: Request) -> Response:
        df, index, error = self._open_for_read(req)
        if error is not None:
            return error
        df.close()
        headers = self._object_headers(df, index)
        failed = self._precondition(req, df, headers)
        if failed is not None:
            return failed
        resp = Response(status=200, headers=headers, app_iter=[])
        resp.headers["Content-Length"] = str(df.content_length)
        return resp

    def GET(self, req: Request) -> Response:
        df, index, error = self._open_for_read(req)
        if error is not None:
            return error
        try:
            headers = self._object_headers(df, index)
            failed = self._precondition(req, df, headers)
            if failed is not None:
                df.close()
                return failed
            length = df.content_length
            try:
                ranges = parse_range(req.headers.get("Range"), length)
            except RangeNotSatisfiable:
                df.close()
                return _plain(416, "Requested Range Not Satisfiable",
                              dict(_validator_headers(df),
                                   **{"Content-Range": unsatisfiable_range(length)}))
        except BaseException:
            df.close()
            raise
        chunk = self.conf.disk_chunk_size
        read_range = lambda start, end: df.reader(start, end, chunk)  # noqa: E731
        if not ranges and length <= chunk:
            # one chunk: check it before the status line, so a corrupt replica
            # answers 404 and the proxy simply asks another
            try:
                body = b"".join(df.reader(chunk_size=chunk))
            except DiskFileQuarantined as err:
                self.logger.error("object %s quarantined on GET: %s", df.name, err)
                return _plain(404, "Not Found")
            finally:
                df.close()
            resp = Response(status=200, headers=headers, app_iter=[body])
            resp.headers["Content-Length"] = str(len(body))
            return resp
        if not ranges:
            resp = Response(status=200, headers=headers,
                            app_iter=self._closing(df, df.reader(chunk_size=chunk)))
            resp.headers["Content-Length"] = str(length)
        elif len(ranges) == 1:
            start, end = ranges[0]
            resp = Response(status=206, headers=headers,
                            app_iter=self._closing(df, read_range(start, end)))
            resp.headers["Content-Range"] = content_range(start, end, length)
            resp.headers["Content-Length"] = str(end - start)
        else:
            boundary = new_boundary()
            part_type = headers["Content-Type"]
            headers["Content-Type"] = "multipart/byteranges;boundary=%s" % boundary
            body = multipart_byteranges(ranges, length, part_type, boundary, read_range)
            resp = Response(status=206, headers=headers, app_iter=self._closing(df, body))
            resp.headers["Content-Length"] = str(
                multipart_length(ranges, length, part_type, boundary))
        return resp

    def _closing(self, df: DiskFile, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Stream ``chunks`` and always release the DiskFile, even on disconnect."""
        try:
            yield from chunks
        except DiskFileQuarantined as err:
            # the last chunk was held back: the stream ends short of its
            # Content-Length, so the proxy knows the body is incomplete and
            # resumes from another replica; the next GET here gets a 404
            self.logger.error("object %s quarantined during GET: %s", df.name, err)
            raise
        finally:
            df.close()

    # -- POST ------------------------------------------------------------------
    def POST(self, req: Request) -> Response:
        df, (device, _part, account, container, obj, index) = self._diskfile(req)
        timestamp = required_timestamp(req)
        nodes = self._container_nodes(req)
        self._check_delete_at(req)
        self._container_nodes(req, "X-Delete-At")  # refuse bad queue targets before writing
        metadata = self._collect_metadata(req, POST_META_PREFIXES, ALLOWED_HEADERS)
        try:
            df.open(open_expired=_asks_open_expired(req))
        except DiskFileQuarantined:
            return _plain(404, "Not Found")
        except DiskFileNotExist as err:
            return _plain(404, "Not Found", _timestamp_headers(err.timestamp))
        df.close()
        if df.timestamp >= timestamp:
            return _plain(409, "Timestamp not newer than existing metadata",
                          _timestamp_headers(df.timestamp))
        metadata["X-Timestamp"] = timestamp.internal
        if req.headers.get("Content-Type"):
            metadata["Content-Type"] = _text(req.headers["Content-Type"])
        elif df.metadata.get("Content-Type") != df.data_metadata.get("Content-Type"):
            # The new .meta replaces the old one whole: a type an earlier POST set
            # must move into it, or a metadata-only POST would undo that change.
            metadata["Content-Type"] = df.metadata["Content-Type"]
        content_type, overrides = self._listing_type_after_post(df, metadata)
        old_meta = df.metadata
        with self.update_batcher.writing():
            df.write_metadata(metadata)
        # The listing row follows the POST: its content type may have changed
        # and its last_modified moves; size and ETag stay those of the body.
        self._update_containers(device, account, container, obj, index, nodes, "PUT",
                                timestamp, int(df.data_metadata.get("Content-Length", 0)),
                                content_type, df.data_metadata.get("ETag", ""), overrides)
        self._update_queue(req, device, account, container, obj, index, timestamp,
                           old_meta, metadata.get("X-Delete-At"))
        # The object's sysmeta tells the proxy's filters what they POSTed to
        # (a symlink answers with a redirect to its target).
        answer = {_wsgi(k): _wsgi(v) for k, v in df.data_metadata.items()
                  if k.lower().startswith("x-object-sysmeta-")}
        answer["X-Backend-Timestamp"] = timestamp.internal
        return _plain(202, "", answer)

    @staticmethod
    def _listing_type_after_post(df: DiskFile,
                                 metadata: dict[str, str]) -> tuple[str, dict[str, str]]:
        """(content type, container-update overrides) for the listing row after a POST.

        A large-object manifest's row keeps what its PUT stored for listings:
        the ``swift_bytes`` size in the type and the overrides (``slo_etag``),
        or the listing would report the manifest's own size after any POST.
        """
        stored = df.data_metadata
        overrides = container_update.listing_overrides(stored)
        content_type = metadata.get("Content-Type") or df.metadata.get("Content-Type", "")
        if "Content-Type" in metadata:
            # the type the client just set wins over one stored for the listing
            overrides.pop("X-Content-Type", None)
            swift_bytes = swift_bytes_param(stored.get("Content-Type", ""))
            if swift_bytes is not None and swift_bytes_param(content_type) is None:
                content_type += ";swift_bytes=%s" % swift_bytes
        return content_type, overrides

    # -- DELETE ----------------------------------------------------------------
    def DELETE(self, req: Request) -> Response:
        df, (device, _part, account, container, obj, index) = self._diskfile(req)
        timestamp = required_timestamp(req)
        nodes = self._container_nodes(req)
        current, live, meta = df.current_state()
        if_delete_at = req.headers.get("X-If-Delete-At")
        if if_delete_at is not None:
            if not _is_digits(if_delete_at.strip()):
                return _plain(400, "Bad X-If-Delete-At header value")
            refusal = expiry_refusal(current, meta, int(if_delete_at), timestamp)
            if refusal is not None:
                return _plain(refusal, REFUSAL_REASONS[refusal], _timestamp_headers(current))
        elif current is not None and current >= timestamp:
            return _plain(409, "Timestamp not newer than existing object",
                          _timestamp_headers(current))
        with self.update_batcher.writing():
            df.delete(timestamp)
        self._update_containers(device, account, container, obj, index, nodes, "DELETE",
                                timestamp)
        if req.headers.get(CLEAN_QUEUE_HEADER, "yes").lower() not in ("no", "false", "0"):
            self._update_queue(req, device, account, container, obj, index, timestamp,
                               meta, None)
        status = 204 if live else 404
        return _plain(status, "" if live else "Not Found",
                      {"X-Backend-Timestamp": timestamp.internal})

    # -- container updates -------------------------------------------------------
    @staticmethod
    def _container_nodes(req: Request, prefix: str = "X-Container") -> list:
        try:
            return container_update.parse_container_nodes(req.headers, prefix)
        except container_update.BadContainerHeaders as err:
            raise _abort(400, str(err)) from None

    def _update_containers(self, device: str, account: str, container: str, obj: str,
                           index: int, nodes: list, op: str, timestamp: Timestamp,
                           size: int = 0, content_type: str = "", etag: str = "",
                           overrides: Optional[dict[str, str]] = None) -> None:
        if not nodes:
            return
        headers = container_update.update_headers(
            op, timestamp, index, get_trans_id(), size, _wsgi(content_type), etag,
            {k: _wsgi(v) for k, v in (overrides or {}).items()})
        update = AsyncUpdate(op=op, account=account, container=container, obj=obj,
                             headers=headers, nodes=nodes, policy_index=index)
        container_update.update_containers(self.managers[index], device, update,
                                           self.conf.conn_timeout, self.conf.node_timeout,
                                           self.logger, self.update_batcher.send)


    def _update_queue(self, req: Request, device: str, account: str, container: str,
                      obj: str, index: int, timestamp: Timestamp, old_meta: Optional[dict],
                      new_delete_at: Optional[str]) -> None:
        """Move the object's expiring-objects row from its old X-Delete-At to the new one."""
        old_delete_at = (old_meta or {}).get("X-Delete-At")
        try:
            updates = expiring_update.queue_updates(
                req.headers, account, container, obj, index, timestamp, get_trans_id(),
                old_delete_at, new_delete_at, self.conf.expiring_objects_container_divisor)
        except container_update.BadContainerHeaders as err:
            # the object is already written; the expirer's X-If-Delete-At check
            # keeps a stale row harmless
            self.logger.error("expiring-objects queue not updated for /%s/%s/%s: %s",
                              account, container, obj, err)
            return
        for update in updates:
            container_update.update_containers(self.managers[index], device, update,
                                               self.conf.conn_timeout, self.conf.node_timeout,
                                               self.logger, self.update_batcher.send)


@typed_factory(ObjectServerConfig)
def app_factory(cluster: ClusterConfig, conf: ObjectServerConfig,
                raw: Mapping[str, Any]) -> ObjectServer:
    """Pipeline entry point (``use = egg:objstore#object``)."""
    return ObjectServer(cluster, conf, logger=get_logger(conf.log_name, raw))

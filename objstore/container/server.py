"""The container server: HTTP in front of ContainerBroker.

Paths are ``/<dev>/<part>/<account>/<container>`` for the container itself
and ``/<dev>/<part>/<account>/<container>/<object>`` for the object rows the
object servers report.  This module speaks HTTP only: every decision about
rows, stats and timestamps is the broker's.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPile
from objstore.common.config import ConfigSection
from objstore.common.constraints import MetadataError, check_metadata
from objstore.common.db import DatabaseAlreadyExists
from objstore.common.db_group_commit import GroupCommit
from objstore.common.durable_fs import check_device
from objstore.common.listing_format import PLAIN_TYPE, content_type_header, render_listing
from objstore.common.logs import get_logger
from objstore.common.http_response import json_response
from objstore.common.object_row_batch import (MAX_BATCH_BYTES, OBJECT_RECORDS, OBJECT_SECTIONS,
                                              RECORD_TYPE_HEADER, BadRowBatch, RowSection,
                                              encode_section_statuses, parse_row_batch,
                                              parse_sections)
from objstore.common.reserved_names import allows_reserved
from objstore.common.pipeline import typed_factory
from objstore.common.storage_policy import POLICY_DEFAULT_HEADER, POLICY_INDEX_HEADER
from objstore.common.storage_app import DatabaseServerApp
from objstore.common.storage_request import (device_of_path, header_int, header_text,
                                             http_error, listing_params, required_timestamp,
                                             split_backend_path)
from objstore.common.storage_request import text_response
from objstore.common.timestamp import Timestamp
from objstore.container.account_report import (parse_account_nodes, report_headers,
                                               send_reports)
from objstore.container.backend import ContainerBroker

# Headers a container stores as metadata besides X-Container-Meta-* / -Sysmeta-*.
# (Versioning targets are sysmeta, set by the versioned_writes filter.)
CONTAINER_META_HEADERS = frozenset(("x-container-read", "x-container-write"))
CONTAINER_META_PREFIXES = ("x-container-meta-", "x-container-sysmeta-", "x-container-sync-")


@dataclasses.dataclass
class ContainerServerConfig(ConfigSection):
    devices: str = "/srv/node"
    mount_check: bool = False
    db_timeout: float = 25.0           # seconds to wait on another process's DB lock
    conn_timeout: float = 0.5          # connect to an account server
    node_timeout: float = 3.0          # account server answer
    auto_create_account_prefix: str = "."
    log_name: str = "container-server"


def is_container_metadata(header: str) -> bool:
    lower = header.lower()
    return lower in CONTAINER_META_HEADERS or lower.startswith(CONTAINER_META_PREFIXES)


class ContainerServer(DatabaseServerApp):
    """WSGI app; one broker per request, on a connection kept between requests."""

    server_type = "container"
    methods = DatabaseServerApp.methods + ("UPDATE",)
    config_class = ContainerServerConfig
    conf: ContainerServerConfig
    broker_class = ContainerBroker

    def __init__(self, cluster: ClusterConfig, conf: Any = None,
                 logger: Optional[Any] = None) -> None:
        super().__init__(cluster, conf, logger)
        # Object rows that arrive together for one container share a COMMIT.
        self.group_commit = GroupCommit()

    # -- helpers -------------------------------------------------------
    def _broker(self, req: Request) -> tuple[ContainerBroker, list]:
        parts = split_backend_path(req, 4, 5)
        device, partition, account, container, obj = parts
        device_path = check_device(self.conf.devices, device, self.conf.mount_check)
        if device_path is None:
            raise http_error(507, "%s is not mounted" % device)
        broker = self.kept_broker(req, ContainerBroker.for_container(
            self.cluster.hasher, device_path, partition, account, container,
            timeout=self.conf.db_timeout, group_commit=self.group_commit))
        limit = self.cluster.constraints.max_object_name_length
        if obj is not None and len(obj.encode("utf-8")) > limit:
            raise http_error(400, "Object name too long")
        return broker, parts

    def _policy_index(self, req: Request, header: str = POLICY_INDEX_HEADER) -> Optional[int]:
        value = req.headers.get(header)
        if value is None or value == "":
            return None
        policy = self.cluster.policies.get_by_index(value)
        if policy is None:
            raise http_error(400, "Invalid %s %r" % (header, value))
        return policy.index

    def _new_container_policy(self, req: Request) -> int:
        """The policy of a container this PUT creates (or re-creates after a delete).

        The one the client asked for, else the proxy's default (it sends
        its own, so every container server agrees with it), else ours.
        """
        for header in (POLICY_INDEX_HEADER, POLICY_DEFAULT_HEADER):
            index = self._policy_index(req, header)
            if index is not None:
                return index
        return self.cluster.policies.default.index

    def _metadata_updates(self, req: Request,
                          timestamp: Timestamp) -> dict[str, tuple[str, str]]:
        try:
            check_metadata(req.headers, "container", self.cluster.constraints)
        except MetadataError as err:
            raise http_error(400, str(err)) from None
        return {key: (value, timestamp.internal) for key, value in req.headers.items()
                if is_container_metadata(key)}

    def _info_headers(self, broker: ContainerBroker, info: Mapping[str, Any]) -> dict[str, str]:
        headers = {
            "X-Container-Object-Count": str(info["object_count"]),
            "X-Container-Bytes-Used": str(info["bytes_used"]),
            "X-Timestamp": Timestamp(info["created_at"]).normal,
            "X-PUT-Timestamp": Timestamp(info["put_timestamp"]).normal,
            "X-Backend-Timestamp": Timestamp(info["created_at"]).internal,
            "X-Backend-Put-Timestamp": Timestamp(info["put_timestamp"]).internal,
            "X-Backend-Delete-Timestamp": Timestamp(info["delete_timestamp"]).internal,
            "X-Backend-Status-Changed-At": Timestamp(info["status_changed_at"]).internal,
            POLICY_INDEX_HEADER: str(info["storage_policy_index"]),
            "Last-Modified": Timestamp(info["put_timestamp"]).http_date,
        }
        for key, (value, _ts) in broker.metadata.items():
            headers[key] = value
        return headers

    def _deleted_404(self, info: Mapping[str, Any]) -> Response:
        """404 for a deleted container, with its timestamps (the proxy uses them)."""
        return text_response(404, "", {
            "X-Backend-Put-Timestamp": Timestamp(info["put_timestamp"]).internal,
            "X-Backend-Delete-Timestamp": Timestamp(info["delete_timestamp"]).internal,
            "X-Backend-Status-Changed-At": Timestamp(info["status_changed_at"]).internal,
            POLICY_INDEX_HEADER: str(info["storage_policy_index"]),
            "X-Backend-Timestamp": Timestamp(info["created_at"]).internal})

    def _update_account(self, req: Request, broker: ContainerBroker, account: str,
                        container: str) -> Optional[Response]:
        """Report the container to the account servers the proxy named.

        A 404 from an account server means the account does not exist and
        becomes this request's answer; any other failure is left to the
        container updater.
        """
        host = req.headers.get("X-Account-Host")
        if not host:
            return None
        try:
            nodes = parse_account_nodes(host, req.headers.get("X-Account-Device", ""),
                                        req.headers.get("X-Account-Partition", ""))
        except ValueError as err:
            self.logger.error("bad account update headers: %s", err)
            return text_response(400, str(err))
        info = broker.get_info()
        extra = {}
        if req.headers.get("X-Account-Override-Deleted"):
            extra["X-Account-Override-Deleted"] = req.headers["X-Account-Override-Deleted"]
        headers = report_headers(info, extra)
        statuses = send_reports(nodes, account, container, headers, self.conf.conn_timeout,
                                self.conf.node_timeout)
        if any(status == 404 for status in statuses):
            return text_response(404, "Account not found")
        if statuses and all(status is not None and 200 <= status < 300 for status in statuses):
            broker.reported(info["put_timestamp"], info["delete_timestamp"],
                            info["object_count"], info["bytes_used"])
        else:
            self.logger.warning("account update for /%s/%s failed %s; the updater will retry",
                                account, container, statuses)
        return None

    # -- verbs ---------------------------------------------------------
    def PUT(self, req: Request) -> Response:
        broker, (_dev, _part, account, container, obj) = self._broker(req)
        timestamp = required_timestamp(req)
        if obj is not None:
            return self._put_object_row(req, broker, account, obj, timestamp)
        requested_policy = self._policy_index(req)
        updates = self._metadata_updates(req, timestamp)
        created = False
        if not broker.exists():
            try:
                broker.initialize(timestamp, account=account, container=container,
                                  storage_policy_index=self._new_container_policy(req))
                created = True
            except DatabaseAlreadyExists:
                pass
        if not created:
            info = broker.get_info()
            was_deleted = broker.info_is_deleted(info)
            if was_deleted:
                new_policy = self._new_container_policy(req)
                if new_policy != info["storage_policy_index"]:
                    broker.set_storage_policy_index(new_policy)
            elif requested_policy is not None and \
                    requested_policy != info["storage_policy_index"]:
                return text_response(409, "Container exists with a different storage policy",
                                     {POLICY_INDEX_HEADER: str(info["storage_policy_index"])})
            broker.update_put_timestamp(timestamp)
            if broker.is_deleted():
                return text_response(409, "Container was deleted after this request's timestamp")
            created = was_deleted
        self.check_stored_metadata(broker, updates)
        broker.update_metadata(updates)
        failure = self._update_account(req, broker, account, container)
        if failure is not None:
            return failure
        info = broker.get_info()
        return text_response(201 if created else 202, "",
                             {POLICY_INDEX_HEADER: str(info["storage_policy_index"])})

    def _put_object_row(self, req: Request, broker: ContainerBroker, account: str, obj: str,
                        timestamp: Timestamp) -> Response:
        size = header_int(req, "X-Size")
        content_type = header_text(req, "X-Content-Type")
        etag = header_text(req, "X-Etag")
        if content_type is None or etag is None:
            return text_response(400, "Missing X-Content-Type or X-Etag header")
        if not self._ensure_container(req, broker, account, timestamp):
            return text_response(404)
        policy_index = self._policy_index(req)
        if policy_index is None:
            policy_index = broker.get_info()["storage_policy_index"]
        broker.put_object(obj, timestamp, size, content_type, etag,
                          storage_policy_index=policy_index)
        return text_response(201)

    def UPDATE(self, req: Request) -> Response:
        """Object rows reported together (see :mod:`objstore.common.object_row_batch`)."""
        if req.headers.get(RECORD_TYPE_HEADER, "").lower() == OBJECT_SECTIONS:
            return self._update_sections(req)
        broker, (_dev, _part, account, _container, obj) = self._broker(req)
        if obj is not None:
            return text_response(400, "UPDATE names a container, not an object")
        if req.headers.get(RECORD_TYPE_HEADER, "").lower() != OBJECT_RECORDS:
            return text_response(400, "%s must be %r or %r" % (
                RECORD_TYPE_HEADER, OBJECT_RECORDS, OBJECT_SECTIONS))
        refused = _batch_length_refused(req)
        if refused is not None:
            return refused
        try:
            rows = parse_row_batch(req.body, self.cluster.constraints.max_object_name_length,
                                   allows_reserved(req.headers), self._policy_known)
        except BadRowBatch as err:
            return text_response(400, str(err))
        return text_response(self._merge_rows(req, broker, account, rows))

    def _merge_rows(self, req: Request, broker: ContainerBroker, account: str,
                    rows: list[dict[str, Any]]) -> int:
        """The status a container's batch of rows earns: 204 merged, 404 no such container."""
        oldest = min(Timestamp(row["created_at"]) for row in rows)
        if not self._ensure_container(req, broker, account, oldest):
            return 404
        broker.merge_items(rows)
        return 204

    def _update_sections(self, req: Request) -> Response:
        """Rows for several containers on one device (``UPDATE /<dev>``).

        Each section is merged as its own ``UPDATE`` would be, all at once
        (each container's rows wait for their own group commit), and the
        answer lists what each would have answered.
        """
        device = device_of_path(req)
        if device is None:
            return text_response(400, "A sectioned UPDATE names a device: /<device>")
        refused = _batch_length_refused(req)
        if refused is not None:
            return refused
        device_path = check_device(self.conf.devices, device, self.conf.mount_check)
        if device_path is None:
            return text_response(507, "%s is not mounted" % device)
        try:
            sections = parse_sections(req.body, self.cluster.constraints.max_object_name_length,
                                      allows_reserved(req.headers), self._policy_known)
        except BadRowBatch as err:
            return text_response(400, str(err))
        if len(sections) == 1:
            statuses = [self._merge_section(req, device_path, sections[0])]
        else:
            pile = GreenPile(len(sections))
            for section in sections:
                pile.spawn(self._merge_section, req, device_path, section)
            statuses = list(pile)
        return json_response(encode_section_statuses(statuses))

    def _merge_section(self, req: Request, device_path: str, section: RowSection) -> int:
        """The status this section's rows earn, a failure's included."""
        try:
            broker = self.kept_broker(req, ContainerBroker.for_container(
                self.cluster.hasher, device_path, section.partition, section.account,
                section.container, timeout=self.conf.db_timeout,
                group_commit=self.group_commit))
            return self._merge_rows(req, broker, section.account, section.rows)
        except Exception as err:  # noqa: BLE001 - one container's failure is its section's answer
            return self.error_response(req, err).status_int

    def _policy_known(self, index: int) -> bool:
        return self.cluster.policies.get_by_index(index) is not None

    def _ensure_container(self, req: Request, broker: ContainerBroker, account: str,
                          timestamp: Timestamp) -> bool:
        """True when the container's database exists (auto-created for ``.`` accounts).

        A deleted container still records object rows, as Swift's does: a row
        that loses a race with the container DELETE must not vanish from the
        listing while its object exists (the container is not deleted while
        it holds live rows).
        """
        if broker.exists():
            return True
        prefix = self.conf.auto_create_account_prefix
        if prefix and account.startswith(prefix):
            try:
                broker.initialize(timestamp, account=account, container=broker.container,
                                  storage_policy_index=self._policy_index(req) or 0)
            except DatabaseAlreadyExists:
                pass
            return True
        return False

    def DELETE(self, req: Request) -> Response:
        broker, (_dev, _part, account, container, obj) = self._broker(req)
        timestamp = required_timestamp(req)
        if obj is not None:
            if not self._ensure_container(req, broker, account, timestamp):
                return text_response(404)
            policy_index = self._policy_index(req)
            if policy_index is None:
                policy_index = broker.get_info()["storage_policy_index"]
            broker.delete_object(obj, timestamp, storage_policy_index=policy_index)
            return text_response(204)
        if not broker.exists():
            return text_response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return self._deleted_404(info)
        if info["object_count"]:
            return text_response(409, "Container is not empty")
        broker.update_delete_timestamp(timestamp)
        if not broker.is_deleted():
            return text_response(409, "Container was written after this delete's timestamp")
        # A container made again under this name starts afresh: it must not
        # inherit the old one's ACLs (or any other metadata).
        broker.update_metadata({key: ("", timestamp) for key in broker.metadata})
        failure = self._update_account(req, broker, account, container)
        if failure is not None and failure.status_int != 404:
            return failure
        return text_response(204)

    def POST(self, req: Request) -> Response:
        broker, (_dev, _part, _account, _container, obj) = self._broker(req)
        if obj is not None:
            return text_response(400, "POST of an object row is not supported")
        timestamp = required_timestamp(req)
        updates = self._metadata_updates(req, timestamp)
        if not broker.exists():
            return text_response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return self._deleted_404(info)
        requested_policy = self._policy_index(req)
        if requested_policy is not None and requested_policy != info["storage_policy_index"]:
            return text_response(409, "Container exists with a different storage policy",
                                 {POLICY_INDEX_HEADER: str(info["storage_policy_index"])})
        self.check_stored_metadata(broker, updates)
        # A POST changes the container, so its Last-Modified (the put
        # timestamp) moves; object writes do not.
        broker.update_put_timestamp(timestamp)
        broker.update_metadata(updates)
        return text_response(204)

    def _live_container(self, req: Request):  # noqa: ANN202 - a response or a 4-tuple
        """The broker, info, listing params and name of a container that exists, or the error."""
        broker, (_dev, _part, _account, container, obj) = self._broker(req)
        if obj is not None:
            return text_response(400, "%s of an object row is not supported" % req.method)
        params = listing_params(req, self.cluster.constraints.container_listing_limit)
        if not broker.exists():
            return text_response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return self._deleted_404(info)
        return broker, info, params, container

    def HEAD(self, req: Request) -> Response:
        found = self._live_container(req)
        if isinstance(found, Response):
            return found
        broker, info, params, _container = found
        resp = Response(status=204, headers=self._info_headers(broker, info))
        resp.headers["Content-Type"] = content_type_header(params.media_type)
        return resp

    def GET(self, req: Request) -> Response:
        found = self._live_container(req)
        if isinstance(found, Response):
            return found
        broker, info, params, container = found
        entries = broker.list_objects_iter(params.limit, params.marker, params.end_marker,
                                           params.prefix, params.delimiter, params.path,
                                           params.reverse, params.show_reserved,
                                           plain_rows=True,
                                           names_only=params.media_type == PLAIN_TYPE)
        body = render_listing(entries, params.media_type, "container", container)
        resp = Response(status=200 if body else 204, headers=self._info_headers(broker, info),
                        body=body)
        resp.headers["Content-Type"] = content_type_header(params.media_type)
        return resp



def _batch_length_refused(req: Request) -> Optional[Response]:
    """The answer to a batch body of no or too great a length; None when it may be read."""
    if req.content_length is None:
        return text_response(411, "Content-Length required")
    if req.content_length > MAX_BATCH_BYTES:
        return text_response(413, "Body larger than %d bytes" % MAX_BATCH_BYTES)
    return None


@typed_factory(ContainerServerConfig)
def app_factory(cluster: ClusterConfig, conf: ContainerServerConfig,
                raw: Mapping[str, Any]) -> ContainerServer:
    """Pipeline entry point (``use = egg:objstore#container``)."""
    return ContainerServer(cluster, conf, logger=get_logger(conf.log_name, raw))

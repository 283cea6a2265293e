"""The account server: HTTP in front of AccountBroker.

``/<dev>/<part>/<account>`` is the account itself; ``PUT
/<dev>/<part>/<account>/<container>`` is a container server reporting one
container's timestamps and stats.  Accounts are never created by a report
(except internal ``.`` accounts): the proxy creates the account first, so a
report for an unknown account answers 404.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection, to_bool
from objstore.common.constraints import MetadataError, check_metadata
from objstore.common.db import (DatabaseAlreadyExists)
from objstore.common.durable_fs import check_device
from objstore.common.listing_format import (ContainerEntry, ListingEntry, content_type_header,
                                            render_listing)
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.common.storage_policy import POLICY_INDEX_HEADER, PolicyCollection
from objstore.common.storage_app import DatabaseServerApp
from objstore.common.storage_request import (header_int, http_error, listing_params,
                                             required_timestamp, split_backend_path)
from objstore.common.storage_request import text_response
from objstore.common.timestamp import Timestamp
from objstore.account.backend import AccountBroker

ACCOUNT_META_PREFIXES = ("x-account-meta-", "x-account-sysmeta-")


@dataclasses.dataclass
class AccountServerConfig(ConfigSection):
    devices: str = "/srv/node"
    mount_check: bool = False
    db_timeout: float = 25.0
    auto_create_account_prefix: str = "."
    log_name: str = "account-server"


def is_account_metadata(header: str) -> bool:
    lower = header.lower()
    return lower.startswith(ACCOUNT_META_PREFIXES) or lower == "x-account-access-control"


def policy_stat_headers(policy_stats: Mapping[int, Mapping[str, int]],
                        known: PolicyCollection) -> dict[str, str]:
    """``X-Account-Storage-Policy-<Name>-{Container-Count,Object-Count,Bytes-Used}``."""
    headers = {}
    for index, stats in sorted(policy_stats.items()):
        policy = known.get_by_index(index)
        if policy is None:
            continue
        base = "X-Account-Storage-Policy-%s-" % policy.name
        headers[base + "Container-Count"] = str(stats["container_count"])
        headers[base + "Object-Count"] = str(stats["object_count"])
        headers[base + "Bytes-Used"] = str(stats["bytes_used"])
    return headers


class AccountServer(DatabaseServerApp):
    server_type = "account"
    config_class = AccountServerConfig
    conf: AccountServerConfig
    broker_class = AccountBroker

    # -- helpers -------------------------------------------------------
    def _broker(self, req: Request) -> tuple[AccountBroker, list]:
        parts = split_backend_path(req, 3, 4)
        device, partition, account, _container = parts
        device_path = check_device(self.conf.devices, device, self.conf.mount_check)
        if device_path is None:
            raise http_error(507, "%s is not mounted" % device)
        return self.kept_broker(req, AccountBroker.for_account(
            self.cluster.hasher, device_path, partition, account,
            timeout=self.conf.db_timeout)), parts

    def _metadata_updates(self, req: Request,
                          timestamp: Timestamp) -> dict[str, tuple[str, str]]:
        try:
            check_metadata(req.headers, "account", self.cluster.constraints)
        except MetadataError as err:
            raise http_error(400, str(err)) from None
        return {key: (value, timestamp.internal) for key, value in req.headers.items()
                if is_account_metadata(key)}

    def _live_info(self, broker: AccountBroker) -> Optional[dict]:
        """The account's info, or None when it does not exist or was deleted."""
        if not broker.exists():
            return None
        info = broker.get_info()
        return None if broker.info_is_deleted(info) else info

    @staticmethod
    def _deleted_404() -> Response:
        return text_response(404, "", {"X-Account-Status": "Deleted"})

    def _info_headers(self, broker: AccountBroker, info: Mapping[str, Any]) -> dict[str, str]:
        headers = {
            "X-Account-Container-Count": str(info["container_count"]),
            "X-Account-Object-Count": str(info["object_count"]),
            "X-Account-Bytes-Used": str(info["bytes_used"]),
            "X-Timestamp": Timestamp(info["created_at"]).normal,
            "X-PUT-Timestamp": Timestamp(info["put_timestamp"]).normal,
            "X-Backend-Timestamp": Timestamp(info["created_at"]).internal,
            "X-Backend-Put-Timestamp": Timestamp(info["put_timestamp"]).internal,
            "X-Backend-Delete-Timestamp": Timestamp(info["delete_timestamp"]).internal,
            "X-Backend-Status-Changed-At": Timestamp(info["status_changed_at"]).internal,
        }
        headers.update(policy_stat_headers(broker.get_policy_stats(), self.cluster.policies))
        for key, (value, _ts) in broker.metadata.items():
            headers[key] = value
        return headers

    # -- verbs ---------------------------------------------------------
    def PUT(self, req: Request) -> Response:
        broker, (_dev, _part, account, container) = self._broker(req)
        if container is not None:
            return self._put_container_row(req, broker, account, container)
        timestamp = required_timestamp(req)
        updates = self._metadata_updates(req, timestamp)
        created = False
        if not broker.exists():
            try:
                broker.initialize(timestamp, account=account)
                created = True
            except DatabaseAlreadyExists:
                pass
        if not created:
            if broker.is_deleted():
                return text_response(403, "Recently deleted", {"X-Account-Status": "Deleted"})
            broker.update_put_timestamp(timestamp)
        self.check_stored_metadata(broker, updates)
        broker.update_metadata(updates)
        return text_response(201 if created else 202)

    def _put_container_row(self, req: Request, broker: AccountBroker, account: str,
                           container: str) -> Response:
        put_ts = required_timestamp(req, "X-Put-Timestamp")
        delete_raw = req.headers.get("X-Delete-Timestamp") or "0"
        try:
            delete_ts = Timestamp(delete_raw)
        except ValueError:
            return text_response(400, "Invalid X-Delete-Timestamp header: %r" % delete_raw)
        object_count = header_int(req, "X-Object-Count", default=0)
        bytes_used = header_int(req, "X-Bytes-Used", default=0)
        policy_index = header_int(req, POLICY_INDEX_HEADER, default=0, maximum=1 << 31)
        if not broker.exists():
            prefix = self.conf.auto_create_account_prefix
            if not (prefix and account.startswith(prefix)):
                return text_response(404, "Account not found")
            try:
                broker.initialize(put_ts, account=account)
            except DatabaseAlreadyExists:
                pass
        override = req.headers.get("X-Account-Override-Deleted", "no")
        try:
            overridden = to_bool(override)
        except ValueError:
            overridden = False
        if not overridden and broker.is_deleted():
            return self._deleted_404()
        broker.put_container(container, put_ts, delete_ts, object_count, bytes_used,
                             policy_index)
        return text_response(204 if delete_ts > put_ts else 201)

    def DELETE(self, req: Request) -> Response:
        broker, (_dev, _part, _account, container) = self._broker(req)
        if container is not None:
            return text_response(400, "DELETE of a container row is not supported; PUT a report")
        timestamp = required_timestamp(req)
        if self._live_info(broker) is None:
            return text_response(404) if not broker.exists() else self._deleted_404()
        broker.update_delete_timestamp(timestamp)
        if not broker.is_deleted():
            return text_response(409, "Account was written after this delete's timestamp")
        return text_response(204)

    def POST(self, req: Request) -> Response:
        broker, (_dev, _part, _account, container) = self._broker(req)
        if container is not None:
            return text_response(400, "POST of a container row is not supported")
        timestamp = required_timestamp(req)
        updates = self._metadata_updates(req, timestamp)
        if self._live_info(broker) is None:
            return text_response(404) if not broker.exists() else self._deleted_404()
        self.check_stored_metadata(broker, updates)
        broker.update_metadata(updates)
        return text_response(204)

    def HEAD(self, req: Request) -> Response:
        broker, (_dev, _part, _account, container) = self._broker(req)
        if container is not None:
            return text_response(400, "HEAD of a container row is not supported")
        params = listing_params(req, self.cluster.constraints.account_listing_limit)
        info = self._live_info(broker)
        if info is None:
            return text_response(404) if not broker.exists() else self._deleted_404()
        resp = Response(status=204, headers=self._info_headers(broker, info))
        resp.headers["Content-Type"] = content_type_header(params.media_type)
        return resp

    def GET(self, req: Request) -> Response:
        broker, (_dev, _part, account, container) = self._broker(req)
        if container is not None:
            return text_response(400, "GET of a container row is not supported")
        params = listing_params(req, self.cluster.constraints.account_listing_limit)
        info = self._live_info(broker)
        if info is None:
            return text_response(404) if not broker.exists() else self._deleted_404()
        entries = broker.list_containers_iter(params.limit, params.marker, params.end_marker,
                                              params.prefix, params.delimiter, params.reverse,
                                              params.show_reserved)
        entries = [self._with_policy_name(entry) for entry in entries]
        headers = self._info_headers(broker, info)
        body = render_listing(entries, params.media_type, "account", account)
        resp = Response(status=200 if body else 204, headers=headers)
        if body:
            resp.body = body
        resp.headers["Content-Type"] = content_type_header(params.media_type)
        return resp


    def _with_policy_name(self, entry: ListingEntry) -> ListingEntry:
        if not isinstance(entry, ContainerEntry):
            return entry
        policy = self.cluster.policies.get_by_index(entry.storage_policy_index)
        return entry._replace(storage_policy=policy.name) if policy is not None else entry


@typed_factory(AccountServerConfig)
def app_factory(cluster: ClusterConfig, conf: AccountServerConfig,
                raw: Mapping[str, Any]) -> AccountServer:
    """Pipeline entry point (``use = egg:objstore#account``)."""
    return AccountServer(cluster, conf, logger=get_logger(conf.log_name, raw))

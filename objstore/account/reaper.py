"""The account reaper: empties accounts a reseller admin deleted.

``DELETE /v1/AUTH_x`` only marks the account's databases deleted (its
delete timestamp outranks its put); the data stays until this daemon, on
the node holding the account's first primary replica, walks the account's
containers and, for each, deletes every object on its object servers
(which tell the container replicas, as a client DELETE would), then the
container itself on its container servers (which report the deletion to
the account with ``X-Account-Override-Deleted``, since the account no
longer takes ordinary reports).  A step that does not reach a majority is
retried next pass.  The emptied account database, and the deleted rows in
it, are reclaimed by the replicator after ``reclaim_age``.
"""
from __future__ import annotations

import dataclasses
import json
import time
import urllib.parse
from typing import Any, Iterator, Mapping, Optional

from objstore.account.backend import AccountBroker
from objstore.common.backend_client import (BackendResponse, node_request, share_headers,
                                            update_shares)
from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPile
from objstore.common.daemon import Daemon, DaemonConfig, is_local_device
from objstore.common.db import DatabaseError
from objstore.common.db_files import iter_devices
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp
from objstore.ring.ring import load_ring

LISTING_LIMIT = 1000


@dataclasses.dataclass
class AccountReaperConfig(DaemonConfig):
    interval: float = 3600.0
    concurrency: int = 8              # object deletes in flight
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    db_timeout: float = 25.0
    bind_ip: str = "0.0.0.0"          # with bind_port: which ring devices are this node's
    bind_port: int = 0
    # Seconds after the account's DELETE before its data goes: time for an
    # operator to undo a mistaken delete (0: reap on the next pass).
    delay_reaping: float = 0.0
    log_name: str = "account-reaper"

    def validate(self) -> None:
        self.require_at_least(concurrency=1, delay_reaping=0)


@dataclasses.dataclass
class ReaperStats:
    accounts_seen: int = 0
    accounts_delayed: int = 0         # deleted less than delay_reaping ago: left alone
    accounts_emptied: int = 0
    containers_deleted: int = 0
    objects_deleted: int = 0
    failures: int = 0


class ReapIncomplete(Exception):
    """A step did not reach a majority of replicas; the account waits for the next pass."""


def _majority(count: int) -> int:
    return count // 2 + 1


class AccountReaper(Daemon):
    name = "account-reaper"
    config_class = AccountReaperConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 rings: Optional[Mapping[str, Any]] = None):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self.conf: AccountReaperConfig
        self._rings: dict[str, Any] = dict(rings or {})

    def ring(self, name: str) -> Any:
        """``account``, ``container`` or ``object[-N]``, loaded on first use."""
        if name not in self._rings:
            self._rings[name] = load_ring(self.conf.swift_dir, name, self.cluster.hasher)
        return self._rings[name]

    def run_once(self) -> ReaperStats:
        began = time.time()
        stats = ReaperStats()
        for device_path in iter_devices(self.conf.devices, self.conf.mount_check, self.logger):
            for db_file in AccountBroker.iter_on_device(device_path):
                if self.stopping:
                    break
                first = self.ring("account").get_part_nodes(db_file.partition)[0]
                if not is_local_device(first, device_path, self.conf.bind_ip,
                                       self.conf.bind_port):
                    continue  # the first primary's node reaps; the others only replicate
                self._reap_db(db_file.path, stats)
        self.logger.info("%s pass: %s in %.2fs", self.name, " ".join(
            "%s=%d" % item for item in dataclasses.asdict(stats).items()), time.time() - began)
        return stats

    def _reap_db(self, path: str, stats: ReaperStats) -> None:
        broker = AccountBroker(path, timeout=self.conf.db_timeout)
        try:
            info = broker.get_info()
            if not broker.info_is_deleted(info):
                return
            stats.accounts_seen += 1
            deleted_at = Timestamp(info["delete_timestamp"]).seconds
            if time.time() - deleted_at < self.conf.delay_reaping:
                stats.accounts_delayed += 1
                return
            account = info["account"]
            marker = ""
            while True:
                page = broker.list_containers_iter(LISTING_LIMIT, marker=marker)
                names = [entry.name for entry in page]
                for name in names:
                    self._reap_container(account, name, stats)
                if len(page) < LISTING_LIMIT:
                    break
                marker = names[-1]
            if broker.empty():
                stats.accounts_emptied += 1
                self.logger.info("%s: account %s is empty", self.name, account)
        except ReapIncomplete as err:
            stats.failures += 1
            self.logger.info("%s: %s; retrying next pass", self.name, err)
        except DatabaseError as err:
            stats.failures += 1
            self.logger.error("%s: cannot read %s: %s", self.name, path, err)
        finally:
            broker.close()

    # -- one container -------------------------------------------------------
    def _reap_container(self, account: str, container: str, stats: ReaperStats) -> None:
        part, nodes = self.ring("container").get_nodes(account, container)
        policy_index = None
        for objects, index in self._object_pages(account, container, part, nodes):
            policy_index = index
            pile = GreenPile(self.conf.concurrency)
            for name in objects:
                pile.spawn(self._delete_object, account, container, name, index,
                           (part, nodes))
            done = sum(1 for ok in pile if ok)
            stats.objects_deleted += done
            if done < len(objects):
                raise ReapIncomplete("%d objects of /%s/%s remain" % (
                    len(objects) - done, account, container))
        self._delete_container(account, container, part, nodes, policy_index)
        stats.containers_deleted += 1

    def _object_pages(self, account: str, container: str, part: int,
                      nodes: list) -> Iterator[tuple[list[str], int]]:
        """Pages of the container's object names, with the container's policy index."""
        marker = ""
        while True:
            query = urllib.parse.urlencode({"format": "json", "marker": marker,
                                            "limit": str(LISTING_LIMIT)})
            resp = self._first_answer(nodes, part, "GET", "/%s/%s" % (account, container),
                                      query)
            if resp is None or resp.status == 404:
                return
            index = int(resp.headers.get(POLICY_INDEX_HEADER) or 0)
            names = [row["name"] for row in json.loads(resp.body or b"[]")] \
                if resp.status == 200 else []
            if not names:
                return
            yield names, index
            if len(names) < LISTING_LIMIT:
                return
            marker = names[-1]

    def _first_answer(self, nodes: list, part: int, method: str, path: str,
                      query: str) -> Optional[BackendResponse]:
        """The first replica's success; 404 only when every replica says so."""
        missing = None
        for node in nodes:
            resp = self._request(node, part, method, path, {}, query)
            if resp is None:
                continue
            if resp.is_success:
                return resp
            if resp.status == 404:
                missing = resp
        if missing is not None:
            return missing
        raise ReapIncomplete("no replica of %s answered" % path)

    def _delete_object(self, account: str, container: str, obj: str, policy_index: int,
                       container_place: tuple[int, list]) -> bool:
        policy = self.cluster.policies.get_by_index(policy_index)
        ring = self.ring(policy.ring_name if policy else "object")
        part, nodes = ring.get_nodes(account, container, obj)
        c_part, c_nodes = container_place
        timestamp = Timestamp.now().internal
        pile = GreenPile(len(nodes) or 1)
        shares = update_shares(nodes, c_nodes)
        for node, share in zip(nodes, shares):
            headers = {"X-Timestamp": timestamp, POLICY_INDEX_HEADER: str(policy_index)}
            headers.update(share_headers("X-Container", share, c_part))
            pile.spawn(self._request, node, part, "DELETE",
                       "/%s/%s/%s" % (account, container, obj), headers)
        settled = sum(1 for resp in pile
                      if resp is not None and (resp.is_success or resp.status == 404))
        return settled >= _majority(len(nodes))

    def _delete_container(self, account: str, container: str, part: int, nodes: list,
                          policy_index: Optional[int]) -> None:
        a_part, a_nodes = self.ring("account").get_nodes(account)
        timestamp = Timestamp.now().internal
        pile = GreenPile(len(nodes) or 1)
        for node, share in zip(nodes, update_shares(nodes, a_nodes)):
            headers = {"X-Timestamp": timestamp, "X-Account-Override-Deleted": "yes"}
            if policy_index is not None:
                headers[POLICY_INDEX_HEADER] = str(policy_index)
            headers.update(share_headers("X-Account", share, a_part))
            pile.spawn(self._request, node, part, "DELETE", "/%s/%s" % (account, container),
                       headers)
        settled = sum(1 for resp in pile
                      if resp is not None and (resp.is_success or resp.status == 404))
        if settled < _majority(len(nodes)):
            raise ReapIncomplete("container /%s/%s not deleted on a majority" % (
                account, container))

    def _request(self, node: Mapping[str, Any], part: int, method: str, path: str,
                 headers: Mapping[str, str], query_string: str = ""
                 ) -> Optional[BackendResponse]:
        return node_request(node, part, method, path, headers, query_string,
                            conn_timeout=self.conf.conn_timeout,
                            response_timeout=self.conf.node_timeout, logger=self.logger,
                            who=self.name)

"""Telling the account servers about one container (used by the server and the updater).

The report is ``PUT /<dev>/<part>/<account>/<container>`` carrying the
container's put/delete timestamps, object count, bytes used and policy.  The
account merges reports newest-wins, so sending one twice or late is harmless;
a report that fails is simply sent again by the container updater.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from objstore.common.backend_client import BackendError, backend_request
from objstore.common.concurrency import GreenPile, Timeout
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp


@dataclasses.dataclass
class AccountNode:
    ip: str
    port: int
    device: str
    partition: str


def report_headers(info: Mapping[str, Any], extra: Optional[Mapping[str, str]] = None) -> dict:
    """The account-update headers for a container's ``get_info()``."""
    headers = {
        "X-Put-Timestamp": Timestamp(info["put_timestamp"]).internal,
        "X-Delete-Timestamp": Timestamp(info["delete_timestamp"]).internal,
        "X-Object-Count": str(info["object_count"]),
        "X-Bytes-Used": str(info["bytes_used"]),
        "X-Timestamp": Timestamp(info["put_timestamp"]).internal,
        POLICY_INDEX_HEADER: str(info.get("storage_policy_index", 0)),
    }
    headers.update(extra or {})
    return headers


def send_report(node: AccountNode, account: str, container: str, headers: Mapping[str, str],
                conn_timeout: float, node_timeout: float) -> Optional[int]:
    """PUT the report to one account node; the HTTP status, or None if unreachable."""
    try:
        with Timeout(conn_timeout + node_timeout + 1):
            resp = backend_request(node.ip, node.port, node.device, node.partition, "PUT",
                                   "/%s/%s" % (account, container), headers=headers,
                                   conn_timeout=conn_timeout, response_timeout=node_timeout)
        return resp.status
    except (BackendError, Timeout, OSError):
        return None


def send_reports(nodes: list[AccountNode], account: str, container: str,
                 headers: Mapping[str, str], conn_timeout: float,
                 node_timeout: float) -> list[Optional[int]]:
    """Send to every node concurrently; statuses in node order (None = unreachable)."""
    if len(nodes) == 1:
        return [send_report(nodes[0], account, container, headers, conn_timeout, node_timeout)]
    pile = GreenPile(max(1, len(nodes)))
    for node in nodes:
        pile.spawn(send_report, node, account, container, headers, conn_timeout, node_timeout)
    return list(pile)


def parse_account_nodes(host_header: str, device_header: str,
                        partition: str) -> list[AccountNode]:
    """Pair ``X-Account-Host: ip:port,…`` with ``X-Account-Device: dev,…``.

    Raises ValueError with a client-facing reason when they do not pair up.
    """
    hosts = [h.strip() for h in host_header.split(",") if h.strip()]
    devices = [d.strip() for d in device_header.split(",") if d.strip()]
    if len(hosts) != len(devices):
        raise ValueError("X-Account-Host and X-Account-Device counts differ")
    if not str(partition).strip().isdigit():
        raise ValueError("Invalid X-Account-Partition")
    nodes = []
    for host, device in zip(hosts, devices):
        ip, sep, port = host.rpartition(":")
        if not sep or not port.isdigit() or not ip:
            raise ValueError("Invalid X-Account-Host %r" % host)
        nodes.append(AccountNode(ip.strip("[]"), int(port), device, str(partition).strip()))
    return nodes

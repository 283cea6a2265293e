"""Telling the container servers about an object write (and remembering failures).

The proxy names, per object node, the container replica(s) this node must
tell (``X-Container-Host``/``-Device``/``-Partition``, comma-separated and
paired by index).  The object server sends ``PUT|DELETE
/<dev>/<part>/<account>/<container>/<object>`` to each; the ones that fail
become one async pending the object updater retries.  The object write
itself has already succeeded either way.
"""
from __future__ import annotations

import logging
from typing import Callable, Mapping, Optional

from objstore.common.backend_client import BackendError, backend_request
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import AsyncUpdate, ContainerNode, DiskFileManager
from objstore.obj.diskfile.interface import DiskFileError


OVERRIDE_PREFIX = "x-object-sysmeta-container-update-override-"


class BadContainerHeaders(ValueError):
    """X-Container-* headers that cannot be paired up (a 400)."""


def parse_container_nodes(headers: Mapping[str, str],
                          prefix: str = "X-Container") -> list[ContainerNode]:
    """The container replicas named by the request; empty when none are named.

    ``<prefix>-Host`` and ``-Device`` list the replicas (comma-separated,
    paired by position); ``-Partition`` is their one partition.  The prefix
    is ``X-Container`` for the object's own container and ``X-Delete-At``
    for the expiring-objects queue container.
    """
    hosts = _split(headers.get(prefix + "-Host"))
    devices = _split(headers.get(prefix + "-Device"))
    partitions = _split(headers.get(prefix + "-Partition"))
    if not hosts and not devices and not partitions:
        return []
    if len(partitions) == 1:
        # One container partition holds the name on every container replica;
        # an object with fewer replicas than the containers has extra hosts.
        partitions = partitions * len(hosts)
    if not (len(hosts) == len(devices) == len(partitions)):
        raise BadContainerHeaders(
            "%s-Host, -Device and -Partition must list the same number of items" % prefix)
    nodes = []
    for host, device, partition in zip(hosts, devices, partitions):
        ip, sep, port = host.rpartition(":")
        if not sep or not ip or not _digits(port) or not _digits(partition) or not device:
            raise BadContainerHeaders("bad container node %s/%s/%s" % (host, device, partition))
        nodes.append(ContainerNode(ip=ip.strip("[]"), port=int(port), device=device,
                                   partition=partition))
    return nodes


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _split(value: Optional[str]) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def update_headers(op: str, timestamp: Timestamp, policy_index: int, trans_id: str,
                   size: int = 0, content_type: str = "", etag: str = "",
                   overrides: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Headers of a container update; a DELETE carries only the timestamp and policy.

    ``overrides`` (from :func:`listing_overrides`) replace what a PUT
    reports, e.g. ``X-Etag``.
    """
    headers = {"X-Timestamp": timestamp.internal, POLICY_INDEX_HEADER: str(policy_index),
               "X-Trans-Id": trans_id}
    if op == "PUT":
        headers.update({"X-Size": str(size), "X-Content-Type": content_type,
                        "X-Etag": etag})
        for name, value in (overrides or {}).items():
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
            headers[name] = value
    return headers


def listing_overrides(metadata: Mapping[str, str]) -> dict[str, str]:
    """Container update headers an object's sysmeta asks for instead of its own values.

    A middleware storing one object on behalf of another (an SLO manifest)
    sets ``X-Object-Sysmeta-Container-Update-Override-<Name>`` so the
    listing shows ``X-<Name>`` as it wants: the manifest's ETag with the
    large object's as a parameter.  Size and Content-Type overrides work
    the same way.
    """
    overrides = {}
    for key, value in metadata.items():
        if key.lower().startswith(OVERRIDE_PREFIX) and len(key) > len(OVERRIDE_PREFIX):
            overrides["X-" + key[len(OVERRIDE_PREFIX):].title()] = value
    return overrides


def send_update(node: ContainerNode, update: AsyncUpdate, conn_timeout: float,
                node_timeout: float, logger: logging.Logger) -> bool:
    """True when ``node`` accepted the update (2xx)."""
    path = "/%s/%s/%s" % (update.account, update.container, update.obj)
    try:
        resp = backend_request(node.ip, node.port, node.device, node.partition, update.op,
                               path, headers=update.headers, conn_timeout=conn_timeout,
                               response_timeout=node_timeout)
    except (BackendError, OSError) as err:
        logger.warning("container update %s %s to %s:%s/%s failed: %s", update.op, path,
                       node.ip, node.port, node.device, err)
        return False
    if 200 <= resp.status < 300:
        return True
    logger.warning("container update %s %s to %s:%s/%s answered %d", update.op, path,
                   node.ip, node.port, node.device, resp.status)
    return False


def update_containers(manager: DiskFileManager, device: str, update: AsyncUpdate,
                      conn_timeout: float, node_timeout: float, logger: logging.Logger,
                      sender: Optional[Callable[[ContainerNode, AsyncUpdate], bool]] = None
                      ) -> list[ContainerNode]:
    """Send ``update`` to its nodes; store the failed ones as an async pending.

    ``sender`` delivers to one node (the object server's batcher); without
    it each node gets a request of its own.  An update naming no nodes is
    stored whole: the object updater finds its nodes in the container ring.
    Returns the nodes that failed.  Failing to store the async pending is
    logged, not raised: the object is durable and the replicators will still
    bring listings in line eventually.
    """
    if sender is None:
        def sender(node: ContainerNode, update: AsyncUpdate) -> bool:
            return send_update(node, update, conn_timeout, node_timeout, logger)
    failed = [node for node in update.nodes if not sender(node, update)]
    if failed or not update.nodes:
        pending = AsyncUpdate(op=update.op, account=update.account,
                              container=update.container, obj=update.obj,
                              headers=dict(update.headers), nodes=failed,
                              policy_index=update.policy_index)
        try:
            manager.save_async_update(device, pending)
        except (DiskFileError, OSError) as err:
            logger.error("could not save async pending for /%s/%s/%s: %s", update.account,
                         update.container, update.obj, err)
    return failed

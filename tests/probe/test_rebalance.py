"""Fault test 6: a device is added and the object ring rebalanced.

Objects are written under the old ring, a fifth device joins node 4 and the
ring is rebalanced, some objects are overwritten while the proxy may still
hold the old ring, then one object-replicator pass runs on every node.  Every
object must end up on exactly its new primaries, byte-identical to its
newest version, readable through the API, and gone from every device the
new ring no longer names.  Its own cluster: the ring change would confuse
the other probe modules.
"""
import glob
import hashlib
import os
import struct
import uuid

from objstore.ring.builder import RingBuilder
from objstore.ring.ring import load_ring

NEW_DEVICE = "d5"
NEW_DEVICE_NODE = 4


def _body(tag, i):
    seed = hashlib.sha256(b"%s-%d" % (tag, i)).digest()
    return seed * (1 + i % 7) * 20


def _ring(cluster):
    return load_ring(os.path.join(cluster.data_dir, "etc"), "object", reload_time=0)


def _where(cluster, path):
    """(partition, name hash) of an object path."""
    prefix, suffix = cluster.hash_path_salt()
    digest = hashlib.md5((prefix + path + suffix).encode("utf-8"))
    part = struct.unpack(">I", digest.digest()[:4])[0] >> (32 - _ring(cluster).part_power)
    return part, digest.hexdigest()


def _replicas(cluster, name_hash, ext=".data"):
    """{device name: [file bytes...]} of every device of every node holding the object."""
    found = {}
    pattern = os.path.join(cluster.data_dir, "node*", "devices", "*", "objects", "*",
                           name_hash[-3:], name_hash, "*" + ext)
    for path in glob.glob(pattern):
        device = path.split(os.sep + "objects" + os.sep)[0].rsplit(os.sep, 1)[1]
        with open(path, "rb") as handle:
            found.setdefault(device, []).append(handle.read())
    return found


def _add_device_and_rebalance(cluster):
    etc = os.path.join(cluster.data_dir, "etc")
    builder = RingBuilder.load(os.path.join(etc, "object.builder"))
    template = next(dev for dev in builder.devs if dev and dev["zone"] == NEW_DEVICE_NODE)
    os.makedirs(os.path.join(cluster.data_dir, "node%d" % NEW_DEVICE_NODE, "devices",
                             NEW_DEVICE))
    builder.add_dev({"region": 1, "zone": NEW_DEVICE_NODE, "ip": template["ip"],
                     "port": template["port"], "device": NEW_DEVICE, "weight": 100})
    builder.pretend_min_part_hours_passed()
    moved, _balance = builder.rebalance(seed=2)
    assert moved
    builder.save(os.path.join(etc, "object.builder"))
    builder.write_ring(os.path.join(etc, "object.ring.gz"))


def test_added_device_gets_its_share_and_old_locations_empty(cluster, conn):
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    container = "rebal-%s" % uuid.uuid4().hex[:8]
    conn.put_container(container)
    written = {"obj-%02d" % i: _body(b"v1", i) for i in range(40)}
    for obj, body in written.items():
        conn.put_object(container, obj, body)
    paths = {obj: "/%s/%s/%s" % (account, container, obj) for obj in written}
    ring = _ring(cluster)  # it reloads as soon as the file changes: keep the old answers
    old_primaries = {obj: {dev["device"] for dev in
                           ring.get_part_nodes(_where(cluster, paths[obj])[0])}
                     for obj in written}

    _add_device_and_rebalance(cluster)
    new_ring = _ring(cluster)
    for i, obj in enumerate(sorted(written)[:8]):  # newer versions after the rebalance
        written[obj] = _body(b"v2", i)
        conn.put_object(container, obj, written[obj])

    moving = [obj for obj in written
              if old_primaries[obj] != {dev["device"] for dev in new_ring.get_part_nodes(
                  _where(cluster, paths[obj])[0])}]
    assert len(moving) >= 5, "too few objects move to prove anything: %s" % moving

    cluster.run_daemons_once(kinds=["object-replicator"])

    verified = replicas = on_new_device = 0
    for obj, body in written.items():
        part, name_hash = _where(cluster, paths[obj])
        primaries = sorted(dev["device"] for dev in new_ring.get_part_nodes(part))
        held = _replicas(cluster, name_hash)
        assert sorted(held) == primaries, (obj, held.keys(), primaries)
        assert sorted(_replicas(cluster, name_hash, "")) == primaries  # no .ts/.meta left
        for device, copies in held.items():
            assert copies == [body], (obj, device)  # one current .data, the newest
            replicas += 1
            on_new_device += device == NEW_DEVICE
        assert conn.get_object(container, obj)[1] == body
        verified += 1
    assert (verified, replicas) == (len(written), 3 * len(written))
    assert on_new_device > 0

"""An upload the client abandons frees the space its replicas reserved at once.

The object servers preallocate a PUT's declared length; when the client goes
away the proxy must end its node connections so they drop the temp file now,
not after their own client timeout (the next uploads would see a full disk).
"""
import glob
import os
import socket
import time
import urllib.parse

DECLARED = 256 * 2 ** 20


def _reserved(cluster):
    """Temp files of the devices holding at least the declared length."""
    found = []
    for device in cluster.devices():
        for path in glob.glob(os.path.join(device, "tmp", ".obj-*")):
            try:
                if os.stat(path).st_blocks * 512 >= DECLARED:
                    found.append(path)
            except FileNotFoundError:
                pass
    return found


def _wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_client_gone_mid_upload_frees_every_replicas_reservation(cluster, conn, unique):
    container = unique()
    conn.put_container(container)
    url, token = conn.get_auth()
    parsed = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parsed.hostname, parsed.port))
    try:
        sock.sendall(("PUT %s/%s/big HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
                      "Content-Length: %d\r\n\r\n" % (parsed.path, container, token, DECLARED)
                      ).encode())
        assert _wait_for(lambda: len(_reserved(cluster)) == 3, 20), _reserved(cluster)
    finally:
        sock.close()
    assert _wait_for(lambda: not _reserved(cluster), 5), _reserved(cluster)
    # nothing was stored, and the nodes are not held against later uploads
    assert conn.get_container(container)[1] == []
    conn.put_object(container, "after", b"data")
    assert conn.get_object(container, "after")[1] == b"data"

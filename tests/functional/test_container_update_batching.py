"""Many uploads into one container at once: every row lands, and rows travel in batches.

The object servers send the container rows that arrive together as one
``UPDATE`` per container replica; a client sees only that the listing and
the container's counts are right, however the rows travelled.
"""
import glob
import os
import re
from concurrent.futures import ThreadPoolExecutor


def _container_log_lines(cluster, text):
    count = 0
    for path in glob.glob(os.path.join(cluster.logs_dir, "container-server-*.log")):
        with open(path, errors="replace") as handle:
            count += sum(1 for line in handle if re.search(text, line))
    return count


def test_concurrent_uploads_and_deletes_into_one_container(cluster, connect, unique):
    container = unique("batch")
    connect().put_container(container)
    names = ["obj-%03d" % i for i in range(96)]
    updates_before = _container_log_lines(cluster, '"UPDATE /')

    def upload(name):
        conn = connect()
        conn.put_object(container, name, name.encode() * 10)
        conn.close()

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(upload, names))
    conn = connect()
    headers, listing = conn.get_container(container, full_listing=True)
    assert [entry["name"] for entry in listing] == names
    assert all(entry["bytes"] == 70 for entry in listing)
    assert headers["x-container-object-count"] == str(len(names))
    assert headers["x-container-bytes-used"] == str(70 * len(names))
    # 24 clients into one container: some rows shared a request
    assert _container_log_lines(cluster, '"UPDATE /') > updates_before

    def delete(name):
        conn = connect()
        conn.delete_object(container, name)
        conn.close()

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(delete, names[::2]))
    headers, listing = conn.get_container(container, full_listing=True)
    assert [entry["name"] for entry in listing] == names[1::2]
    assert headers["x-container-object-count"] == str(len(names) // 2)


def test_concurrent_uploads_into_several_containers_share_requests(cluster, connect, unique):
    containers = [unique("spread") for _ in range(4)]
    for container in containers:
        connect().put_container(container)
    names = ["obj-%03d" % i for i in range(96)]
    sectioned_before = _container_log_lines(cluster, r'"UPDATE /d\d+" 200 ')

    def upload(name):
        conn = connect()
        conn.put_object(containers[int(name[4:]) % 4], name, name.encode())
        conn.close()

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(upload, names))
    conn = connect()
    for index, container in enumerate(containers):
        headers, listing = conn.get_container(container, full_listing=True)
        assert [entry["name"] for entry in listing] == names[index::4]
        assert headers["x-container-object-count"] == str(len(names) // 4)
    # rows for different containers on one device travelled in one request
    assert _container_log_lines(cluster, r'"UPDATE /d\d+" 200 ') > sectioned_before

"""Storage policies over HTTP: the aio's gold (3 replicas, default) and silver (2 replicas).

The replica counts are checked on disk (``.data`` files under every node's
device), the headers through python-swiftclient and raw HTTP, and a
deprecated policy through a second proxy whose objstore.conf deprecates
silver, as an operator would.
"""
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse
from xml.dom import minidom

import pytest
from swiftclient.exceptions import ClientException

from objstore.aio.layout import pick_free_ports

POLICY_HEADER_PREFIX = "x-account-storage-policy-"


def put_container(conn, name, policy=None):
    headers = {} if policy is None else {"X-Storage-Policy": policy}
    response = {}
    conn.put_container(name, headers=headers, response_dict=response)
    return response["status"]


def put_container_status(conn, name, policy):
    try:
        return put_container(conn, name, policy)
    except ClientException as err:
        return err.http_status


def raw_get(url, token, path):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.request("GET", path, headers={"X-Auth-Token": token})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_info_lists_both_policies(cluster, conn):
    info = conn.get_capabilities()
    policies = {p["name"]: p for p in info["swift"]["policies"]}
    assert set(policies) == {"gold", "silver"}
    assert policies["gold"].get("default") is True
    assert "default" not in policies["silver"]
    assert policies["silver"]["aliases"] == "silver"


def test_container_policy_is_chosen_once_and_shown(conn, unique):
    silver, gold, blank, shouting = unique(), unique(), unique(), unique()
    assert put_container(conn, silver, "silver") == 201
    assert put_container(conn, gold) == 201
    assert put_container(conn, blank, "") == 201          # empty: the default
    assert put_container(conn, shouting, "SILVER") == 201  # names ignore case
    for name, policy in ((silver, "silver"), (gold, "gold"), (blank, "gold"),
                         (shouting, "silver")):
        assert conn.head_container(name)["x-storage-policy"] == policy
        assert conn.get_container(name)[0]["x-storage-policy"] == policy

    assert put_container_status(conn, unique(), "platinum") == 400
    # Re-creating in the same policy (or naming none) is fine; another is a conflict.
    assert put_container(conn, silver, "silver") == 202
    assert put_container(conn, silver) == 202
    assert put_container_status(conn, silver, "gold") == 409
    assert put_container_status(conn, gold, "silver") == 409
    assert conn.head_container(silver)["x-storage-policy"] == "silver"
    # POST naming another policy is accepted and changes nothing
    conn.post_container(silver, headers={"X-Storage-Policy": "gold"})
    assert conn.head_container(silver)["x-storage-policy"] == "silver"


def test_deleted_container_may_come_back_in_another_policy(conn, unique):
    name = unique()
    assert put_container(conn, name, "silver") == 201
    conn.delete_container(name)
    assert put_container(conn, name, "gold") == 201
    assert conn.head_container(name)["x-storage-policy"] == "gold"


def test_silver_keeps_two_replicas_and_gold_three(conn, unique, object_files):
    account = urllib.parse.urlsplit(conn.get_auth()[0]).path.split("/")[-1]
    silver, gold = unique(), unique()
    put_container(conn, silver, "silver")
    put_container(conn, gold, "gold")
    for container in (silver, gold):
        for index in range(5):
            conn.put_object(container, "o%d" % index, b"policy %d" % index)
            assert conn.get_object(container, "o%d" % index)[1] == b"policy %d" % index
    for index in range(5):
        name = "o%d" % index
        silver_files = object_files(account, silver, name, policy=1)
        assert len(silver_files) == 2
        assert len({device for device, _path in silver_files}) == 2
        assert object_files(account, silver, name, policy=0) == []
        gold_files = object_files(account, gold, name, policy=0)
        assert len(gold_files) == 3
        assert len({device for device, _path in gold_files}) == 3
        assert object_files(account, gold, name, policy=1) == []
    conn.delete_object(silver, "o0")
    assert object_files(account, silver, "o0", policy=1) == []
    assert len(object_files(account, silver, "o0", ending=".ts", policy=1)) == 2


def test_account_shows_policy_per_container_and_usage_per_policy(connect, unique, settle_usage):
    conn = connect("test2:tester2")
    silver, gold = unique(), unique()
    put_container(conn, silver, "silver")
    put_container(conn, gold)
    conn.put_object(silver, "a", b"12345")
    conn.put_object(silver, "b", b"123")
    conn.put_object(gold, "a", b"1234567")
    settle_usage()    # container listings report their totals to the account

    headers, listing = conn.get_account(full_listing=True)
    by_name = {entry["name"]: entry for entry in listing}
    assert by_name[silver]["storage_policy"] == "silver"
    assert by_name[gold]["storage_policy"] == "gold"
    assert (by_name[silver]["count"], by_name[silver]["bytes"]) == (2, 8)
    for policy in ("gold", "silver"):
        mine = [entry for entry in listing if entry["storage_policy"] == policy]
        prefix = POLICY_HEADER_PREFIX + policy + "-"
        assert headers[prefix + "container-count"] == str(len(mine))
        assert headers[prefix + "object-count"] == str(sum(e["count"] for e in mine))
        assert headers[prefix + "bytes-used"] == str(sum(e["bytes"] for e in mine))
    head = conn.head_account()
    assert head[POLICY_HEADER_PREFIX + "silver-bytes-used"] == \
        headers[POLICY_HEADER_PREFIX + "silver-bytes-used"]

    url, token = conn.get_auth()
    path = urllib.parse.urlsplit(url).path
    status, _headers, body = raw_get(url, token, path + "?format=xml&prefix=" + silver)
    assert status == 200
    entry = minidom.parseString(body).getElementsByTagName("container")[0]
    assert entry.getElementsByTagName("storage_policy")[0].firstChild.data == "silver"
    status, _headers, body = raw_get(url, token, path + "?format=json&prefix=" + gold)
    assert [e["storage_policy"] for e in json.loads(body)] == ["gold"]


@pytest.fixture
def silver_deprecated_proxy(cluster, tmp_path):
    """A second proxy on the same nodes whose objstore.conf marks silver deprecated."""
    with open(cluster.layout.cluster_conf, encoding="utf-8") as handle:
        cluster_text = handle.read()
    cluster_text = re.sub(r"(\[storage-policy:1\]\n)", r"\1deprecated = yes\n", cluster_text)
    cluster_conf = tmp_path / "objstore.conf"
    cluster_conf.write_text(cluster_text)
    port = pick_free_ports("127.0.0.1", 1)[0]
    with open(cluster.layout.proxy_conf, encoding="utf-8") as handle:
        proxy_text = handle.read()
    for key, value in (("objstore_conf", str(cluster_conf)), ("bind_port", str(port)),
                       ("log_file", str(tmp_path / "proxy.log"))):
        proxy_text = re.sub(r"(?m)^%s = .*$" % key, "%s = %s" % (key, value), proxy_text,
                            count=1)
    proxy_conf = tmp_path / "proxy-server.conf"
    proxy_conf.write_text(proxy_text)
    process = subprocess.Popen([sys.executable, "-m", "objstore.cli.server", "proxy",
                                str(proxy_conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthcheck")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "the second proxy exited; see %s" % tmp_path
            assert time.time() < deadline, "the second proxy did not answer"
            time.sleep(0.1)
        yield url + "/auth/v1.0"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_deprecated_policy_serves_old_containers_but_takes_no_new_ones(
        connect, unique, silver_deprecated_proxy):
    before = connect()
    old = unique()
    put_container(before, old, "silver")
    before.put_object(old, "kept", b"still here")

    from swiftclient import client as swift_client
    conn = swift_client.Connection(authurl=silver_deprecated_proxy, user="test:tester",
                                   key="testing", retries=0, timeout=30)
    try:
        # /info no longer offers silver
        policies = [p["name"] for p in conn.get_capabilities()["swift"]["policies"]]
        assert policies == ["gold"]
        assert put_container_status(conn, unique(), "silver") == 400
        assert put_container(conn, unique()) == 201             # the default still works
        assert conn.head_container(old)["x-storage-policy"] == "silver"
        assert conn.get_object(old, "kept")[1] == b"still here"
        conn.put_object(old, "new", b"written through the second proxy")
        assert conn.get_object(old, "new")[1] == b"written through the second proxy"
    finally:
        conn.close()

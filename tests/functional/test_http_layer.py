"""What the HTTP layer decides for the API (issue 8's HTTP-layer items), over real sockets."""
import http.client
import socket
import time
import urllib.parse

import pytest
from swiftclient.exceptions import ClientException


def raw_exchange(url, payload):
    """Send raw bytes, return (status, body) of the first reply."""
    parsed = urllib.parse.urlsplit(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _sep, rest = data.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


def raw_put(conn, container, raw_name, body=b"x"):
    url, token = conn.get_auth()
    parsed = urllib.parse.urlsplit(url)
    head = (b"PUT %s/%s/%s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (parsed.path.encode(), container.encode(), raw_name,
                                             token.encode(), len(body)))
    return raw_exchange(url, head + body)


def test_put_without_content_type_is_guessed_from_the_name(conn, unique):
    container = unique()
    conn.put_container(container)
    url, token = conn.get_auth()
    parsed = urllib.parse.urlsplit(url)
    for name, expected in (("x.wav", "audio/x-wav"), ("noextension", "application/octet-stream"),
                           ("page.html", "text/html")):
        http_conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        http_conn.putrequest("PUT", "%s/%s/%s" % (parsed.path, container, name),
                             skip_accept_encoding=True)
        http_conn.putheader("X-Auth-Token", token)
        http_conn.putheader("Content-Length", "1")
        http_conn.endheaders()
        http_conn.send(b"x")
        assert http_conn.getresponse().status == 201
        http_conn.close()
        assert conn.head_object(container, name)["content-type"] == expected
    conn.put_object(container, "typed", b"x", content_type="application/x-custom")
    copy_url = "%s/%s/copied" % (parsed.path, container)
    http_conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    http_conn.putrequest("PUT", copy_url, skip_accept_encoding=True)
    for key, value in (("X-Auth-Token", token), ("Content-Length", "0"),
                       ("X-Copy-From", "/%s/typed" % container)):
        http_conn.putheader(key, value)
    http_conn.endheaders()
    assert http_conn.getresponse().status == 201
    http_conn.close()
    assert conn.head_object(container, "copied")["content-type"] == "application/x-custom"


def test_raw_utf8_in_the_request_line_reaches_the_app(conn, unique):
    container = unique()
    conn.put_container(container)
    status, _ = raw_put(conn, container, b"\xe0\xa4\x85x")
    assert status == 201
    assert conn.get_object(container, "\u0905x")[1] == b"x"
    # A byte such as 0x85 (NEL) is not whitespace to the request-line parser.
    status, _ = raw_put(conn, container, b"\xc3\x85\xc2\x85")
    assert status == 201
    assert conn.get_object(container, "\u00c5\u0085")[1] == b"x"


@pytest.mark.parametrize("raw_name", [b"bad\xffutf8", b"bad%FFutf8", b"nul%00byte"])
def test_invalid_utf8_or_nul_in_the_path_is_412(conn, unique, raw_name):
    container = unique()
    conn.put_container(container)
    status, body = raw_put(conn, container, raw_name)
    assert status == 412
    assert b"Invalid UTF8 or contains NULL" in body
    assert conn.get_container(container)[1] == []


def test_too_many_headers_meet_the_metadata_check(conn, unique):
    container = unique()
    conn.put_container(container)
    with pytest.raises(ClientException) as caught:
        conn.put_object(container, "o", b"x",
                        headers={"X-Object-Meta-K%d" % i: "v" for i in range(120)})
    assert caught.value.http_status == 400
    assert "metadata" in caught.value.http_response_content.decode().lower()
    with pytest.raises(ClientException) as caught:
        conn.put_object(container, "o", b"x",
                        headers={"X-Object-Meta-K%d" % i: "v" for i in range(400)})
    assert caught.value.http_status == 400


def test_access_log_has_the_protocol_and_the_query_once(cluster, conn, unique):
    container = unique()
    conn.put_container(container)
    url, token = conn.get_auth()
    parsed = urllib.parse.urlsplit(url)
    http_conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    query = "format=json&prefix=a%2Fb&marker=%C3%A9"
    http_conn.request("GET", "%s/%s?%s" % (parsed.path, container, query),
                      headers={"X-Auth-Token": token})
    assert http_conn.getresponse().status in (200, 204)
    http_conn.close()
    wanted = "%s/%s?%s" % (parsed.path, container, query)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(cluster.proxy_log, encoding="utf-8") as log:
            lines = [line for line in log if "proxy-access" in line and wanted in line]
        if lines:
            break
        time.sleep(0.1)
    assert lines, "no access line holds %s" % wanted
    assert " GET %s HTTP/1.1 " % wanted in lines[-1]

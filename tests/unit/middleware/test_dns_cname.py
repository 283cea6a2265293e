"""CNAME lookups over real UDP, against a small DNS server in the test."""
import socket
import struct
import threading

import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.middleware import domain_remap
from objstore.middleware.dns_cname import (CnameResolver, DNSError, parse_cname_answer,
                                           parse_nameserver, system_nameservers)

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


def wire_name(name):
    return b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"


def reply_for(query, aliases, ttl=300):
    """A reply written out by hand: the question echoed, then a compressed CNAME record."""
    query_id = query[:2]
    question_end = query.index(b"\0", 12) + 5
    question = query[12:question_end]
    name = []
    offset = 12
    while query[offset]:
        name.append(query[offset + 1:offset + 1 + query[offset]].decode())
        offset += 1 + query[offset]
    target = aliases.get(".".join(name).lower())
    if target is None:
        return query_id + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
    rdata = wire_name(target)
    record = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, ttl, len(rdata)) + rdata
    return query_id + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + record


@pytest.fixture
def dns_server():
    """(address, port, asked): a UDP server answering CNAMEs from ``aliases``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    aliases, asked = {}, []
    running = True

    def serve():
        while running:
            try:
                query, peer = sock.recvfrom(512)
            except socket.timeout:
                continue
            asked.append(query)
            sock.sendto(reply_for(query, aliases), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], aliases, asked
    running = False
    thread.join()
    sock.close()


def test_resolver_follows_the_server_and_caches(dns_server):
    port, aliases, asked = dns_server
    aliases["www.example.net"] = "site.auth-test.example.com"
    now = [1000.0]
    resolver = CnameResolver([("127.0.0.1", port)], clock=lambda: now[0])
    assert resolver.cname("WWW.example.net.") == "site.auth-test.example.com"
    assert resolver.cname("www.example.net") == "site.auth-test.example.com"
    assert len(asked) == 1                       # the second answer came from the cache
    now[0] += 301                                # past the record's TTL
    resolver.cname("www.example.net")
    assert len(asked) == 2
    assert resolver.cname("plain.example.net") is None


def test_silent_server_is_no_answer_and_not_cached():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        resolver = CnameResolver([("127.0.0.1", silent.getsockname()[1])], timeout=0.2)
        assert resolver.cname("www.example.net") is None
        assert resolver.cache == {}
    finally:
        silent.close()


@pytest.mark.parametrize("reply", [
    b"",                                             # empty
    b"\x12\x34" + b"\x81\x80" + b"\0\x01\0\x01\0\0\0\0",  # answer count but no records
    b"\x12\x34\x81\x82" + b"\0" * 8,                 # SERVFAIL
    b"\x99\x99\x81\x80" + b"\0" * 8,                 # another question's reply
    # a compression pointer pointing at itself
    b"\x12\x34\x81\x80\0\x01\0\0\0\0\0\0" + b"\xc0\x0c",
])
def test_malformed_replies_are_errors_not_crashes(reply):
    with pytest.raises(DNSError):
        parse_cname_answer(reply, 0x1234)


def test_nameserver_forms_and_resolv_conf(tmp_path):
    assert parse_nameserver("10.0.0.1") == ("10.0.0.1", 53)
    assert parse_nameserver("10.0.0.1:5353") == ("10.0.0.1", 5353)
    assert parse_nameserver("[::1]:53") == ("::1", 53)
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example.net\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n")
    assert system_nameservers(str(conf)) == [("192.0.2.1", 53), ("192.0.2.2", 53)]


def echo(environ, start_response):
    return Response(body=environ["PATH_INFO"].encode("latin-1"))(environ, start_response)


def remap_via_dns(port, host, path="/", **conf):
    conf.setdefault("storage_domain", "example.com")
    app = domain_remap.filter_factory(CLUSTER, {}, cname_lookup="true",
                                      nameservers="127.0.0.1:%d" % port, **conf)(echo)
    return Request.blank(path, headers={"Host": host}).get_response(app)


def test_an_alias_of_a_site_is_served_as_that_site(dns_server):
    port, aliases, _asked = dns_server
    aliases["www.example.net"] = "site.auth-test.example.com"
    resp = remap_via_dns(port, "www.example.net:8080", "/page.html")
    assert resp.status_int == 200 and resp.text == "/v1/AUTH_test/site/page.html"


def test_alias_chains_follow_up_to_the_depth(dns_server):
    port, aliases, _asked = dns_server
    aliases["a.example.net"] = "b.example.net"
    aliases["b.example.net"] = "site.auth-test.example.com"
    assert remap_via_dns(port, "a.example.net").status_int == 400
    resp = remap_via_dns(port, "a.example.net", cname_lookup_depth="2")
    assert resp.text == "/v1/AUTH_test/site/"


def test_no_alias_is_400_and_ips_and_own_domains_are_never_looked_up(dns_server):
    port, _aliases, asked = dns_server
    resp = remap_via_dns(port, "nowhere.example.net")
    assert resp.status_int == 400 and b"CNAME lookup failed" in resp.body
    asked.clear()
    assert remap_via_dns(port, "127.0.0.1:8080", "/v1/AUTH_test/c").text == "/v1/AUTH_test/c"
    assert remap_via_dns(port, "[::1]:8080", "/v1/AUTH_test/c").text == "/v1/AUTH_test/c"
    assert remap_via_dns(port, "site.auth-test.example.com").text == "/v1/AUTH_test/site/"
    assert asked == []


def test_lookups_are_off_unless_asked_for():
    app = domain_remap.filter_factory(CLUSTER, {}, storage_domain="example.com")(echo)
    resp = Request.blank("/v1/AUTH_test/c", headers={"Host": "www.example.net"}).get_response(app)
    assert resp.text == "/v1/AUTH_test/c"


@pytest.mark.parametrize("conf", [{"cname_lookup_depth": "0"}, {"nameservers": ":53"}])
def test_bad_lookup_options_are_refused(conf):
    with pytest.raises(ConfigError):
        domain_remap.filter_factory(CLUSTER, {}, storage_domain="example.com", **conf)

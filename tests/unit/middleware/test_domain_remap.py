"""domain_remap: host names that name an account and container."""
import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.middleware import domain_remap

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


def echo(environ, start_response):
    return Response(body=environ["PATH_INFO"].encode("latin-1"))(environ, start_response)


def remap(host, path="/", **conf):
    conf.setdefault("storage_domain", "example.com")
    app = domain_remap.filter_factory(CLUSTER, {}, **conf)(echo)
    return Request.blank(path, headers={"Host": host}).get_response(app)


@pytest.mark.parametrize("host,path,expected", [
    ("site.auth-test.example.com", "/", "/v1/AUTH_test/site/"),
    ("site.auth-test.example.com:8080", "/a/b.html", "/v1/AUTH_test/site/a/b.html"),
    # the domain and reseller prefix match in any case; the container keeps its own
    ("SITE.AUTH-test.Example.COM", "/x", "/v1/AUTH_test/SITE/x"),
    # a UTF-8 container name arrives as raw bytes (WSGI latin-1) and stays intact
    ("\u03a9\u8509".encode().decode("latin-1") + ".auth-test.example.com", "/",
     "/v1/AUTH_test/\u03a9\u8509/"),
    ("auth-test.example.com", "/c/o", "/v1/AUTH_test/c/o"),
    ("auth_test.example.com", "/c", "/v1/AUTH_test/c"),
    ("example.com", "/v1/AUTH_test/c", "/v1/AUTH_test/c"),         # the domain itself
    ("other.org", "/v1/AUTH_test/c", "/v1/AUTH_test/c"),           # not ours
    ("nobody.example.com", "/c", "/c"),                             # no known prefix
])
def test_hosts_map_to_paths(host, path, expected):
    assert remap(host, path).text == expected


def test_default_prefix_and_several_domains():
    resp = remap("c.test.b.org", "/o", storage_domain="a.org, b.org",
                 default_reseller_prefix="AUTH")
    assert resp.text == "/v1/AUTH_test/c/o"


def test_too_many_labels_is_400():
    resp = remap("a.b.auth-test.example.com")
    assert resp.status_int == 400 and b"Bad domain" in resp.body


def test_client_prefix_recorded_for_redirects():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return Response()(environ, start_response)
    filt = domain_remap.filter_factory(CLUSTER, {}, storage_domain="localhost")(app)
    Request.blank("/docs", headers={"Host": "site.auth-test.localhost:8080"}).get_response(filt)
    assert seen[domain_remap.CLIENT_PREFIX_KEY] == "/v1/AUTH_test/site"


def test_empty_storage_domain_refused():
    with pytest.raises(ConfigError):
        domain_remap.filter_factory(CLUSTER, {}, storage_domain="")

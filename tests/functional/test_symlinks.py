"""Symlinks (the ``symlink`` filter) over HTTP, as Swift documents them."""
import hashlib
import json
import xml.etree.ElementTree as ET

import pytest

EMPTY_MD5 = hashlib.md5(b"").hexdigest()
BODY = b"the target's bytes"
BODY_MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture
def curl(http_as):
    return http_as().request


@pytest.fixture
def place(curl, unique):
    """(link container, target container, target object), the target holding BODY."""
    links, targets, obj = unique("links"), unique("targets"), unique("obj")
    assert curl("PUT", "/" + links)[0] == 201
    assert curl("PUT", "/" + targets)[0] == 201
    assert curl("PUT", "/%s/%s" % (targets, obj), BODY,
                {"Content-Type": "application/target"})[0] == 201
    return links, targets, obj


def account_path(http_as):
    return http_as().url.path


def make_link(curl, links, name, target, **headers):
    headers = dict(headers, **{"X-Symlink-Target": target})
    return curl("PUT", "/%s/%s" % (links, name), b"", headers)


def test_put_get_head_and_symlink_get(curl, place, http_as):
    links, targets, obj = place
    status, headers, _ = make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    assert status == 201
    assert headers["etag"] == EMPTY_MD5
    location = "%s/%s/%s" % (account_path(http_as), targets, obj)

    status, headers, body = curl("GET", "/%s/ln" % links)
    assert (status, body) == (200, BODY)
    assert headers["etag"] == BODY_MD5
    assert headers["content-type"] == "application/target"
    assert headers["content-location"] == location
    status, headers, body = curl("HEAD", "/%s/ln" % links)
    assert (status, headers["content-length"], body) == (200, str(len(BODY)), b"")
    assert headers["content-location"] == location

    for method in ("GET", "HEAD"):
        status, headers, body = curl(method, "/%s/ln?symlink=get" % links)
        assert (status, body) == (200, b"")
        assert headers["x-symlink-target"] == "%s/%s" % (targets, obj)
        assert headers["content-length"] == "0"
        assert headers["etag"] == EMPTY_MD5
        assert headers["content-type"] == "application/symlink"
        assert "content-location" not in headers
        assert not any(k.startswith("x-object-sysmeta") for k in headers)


def test_ranged_and_conditional_reads_apply_to_the_target(curl, place):
    links, targets, obj = place
    make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    status, headers, body = curl("GET", "/%s/ln" % links, headers={"Range": "bytes=4-9"})
    assert (status, body) == (206, BODY[4:10])
    assert curl("GET", "/%s/ln" % links, headers={"If-Match": BODY_MD5})[0] == 200
    status, headers, _ = curl("GET", "/%s/ln" % links, headers={"If-Match": "bogus"})
    assert (status, headers["etag"]) == (412, BODY_MD5)
    status, headers, _ = curl("GET", "/%s/ln" % links, headers={"If-None-Match": BODY_MD5})
    assert (status, headers["etag"]) == (304, BODY_MD5)
    assert curl("HEAD", "/%s/ln" % links, headers={"If-None-Match": BODY_MD5})[0] == 304
    # with ?symlink=get the conditions are the link's
    assert curl("GET", "/%s/ln?symlink=get" % links,
                headers={"If-Match": EMPTY_MD5})[0] == 200
    assert curl("GET", "/%s/ln?symlink=get" % links,
                headers={"If-Match": BODY_MD5})[0] == 412


def test_missing_target_is_404_with_its_location(curl, place, http_as):
    links, targets, _obj = place
    assert make_link(curl, links, "ln", "%s/nowhere" % targets)[0] == 201
    for method in ("GET", "HEAD"):
        status, headers, _ = curl(method, "/%s/ln" % links)
        assert status == 404
        assert headers["content-location"] == "%s/%s/nowhere" % (account_path(http_as),
                                                                  targets)
    assert curl("HEAD", "/%s/ln?symlink=get" % links)[0] == 200
    curl("PUT", "/%s/nowhere" % targets, b"late")
    assert curl("GET", "/%s/ln" % links)[2] == b"late"


def test_chains_up_to_symloop_max(curl, place):
    links, targets, obj = place
    make_link(curl, links, "one", "%s/%s" % (targets, obj))
    make_link(curl, links, "two", "%s/one" % links)
    assert curl("GET", "/%s/two" % links)[2] == BODY
    make_link(curl, links, "three", "%s/two" % links)
    status, _, body = curl("GET", "/%s/three" % links)
    assert (status, body) == (409, b"Too many levels of symbolic links, maximum allowed is 2")
    assert curl("HEAD", "/%s/three" % links)[:3:2] == (409, b"")
    assert curl("GET", "/%s/three?symlink=get" % links)[0] == 200
    # links pointing at each other
    make_link(curl, links, "a", "%s/b" % links)
    make_link(curl, links, "b", "%s/a" % links)
    assert curl("GET", "/%s/a" % links)[0] == 409

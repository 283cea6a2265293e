"""Account ACLs (``X-Account-Access-Control``) with the aio's tempauth users.

test:tester owns AUTH_test and grants test:tester3 (a user of the same
account without admin rights) one level at a time; test2:tester2 owns
another account and stays a stranger.  Each test clears the ACL again, so
tester3 is back to having no rights for the tests that follow.
"""
import json

import pytest
from swiftclient import client as swift_client
from swiftclient.exceptions import ClientException

ACL = "X-Account-Access-Control"


def status_of(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ClientException as err:
        return err.http_status
    return 200


@pytest.fixture
def owner(conn):
    yield conn
    conn.post_account({ACL: "{}"})


@pytest.fixture
def tester3(connect, owner):
    """(url of AUTH_test, tester3's token)."""
    url, _ = owner.get_auth()
    _, token = connect("test:tester3").get_auth()
    return url, token


def grant(owner, level, user="test:tester3"):
    owner.post_account({ACL: json.dumps({level: [user]})})


def what_tester3_may_do(url, token, container):
    """Status per operation tester3 tries on AUTH_test and one of its containers."""
    new = container + "-new"
    return {
        "read account": status_of(swift_client.get_account, url, token),
        "post account": status_of(swift_client.post_account, url, token,
                                  {"X-Account-Meta-By-Tester3": "yes"}),
        "list container": status_of(swift_client.get_container, url, token, container),
        "read object": status_of(swift_client.get_object, url, token, container, "o"),
        "write object": status_of(swift_client.put_object, url, token, container, "o3", b"3"),
        "post object": status_of(swift_client.post_object, url, token, container, "o",
                                 {"X-Object-Meta-By": "tester3"}),
        "delete object": status_of(swift_client.delete_object, url, token, container, "o3"),
        "create container": status_of(swift_client.put_container, url, token, new),
        "delete container": status_of(swift_client.delete_container, url, token, new),
    }


READ = {"read account", "list container", "read object"}
WRITE = {"write object", "post object", "delete object", "create container",
         "delete container"}
EXPECTED = {None: set(), "read-only": READ, "read-write": READ | WRITE,
            "admin": READ | WRITE | {"post account"}}


@pytest.mark.parametrize("level", [None, "read-only", "read-write", "admin"])
def test_each_level_grants_what_swift_grants(owner, tester3, unique, level):
    url, token = tester3
    container = unique("acl")
    owner.put_container(container)
    owner.put_object(container, "o", b"data")
    if level:
        grant(owner, level)
    seen = what_tester3_may_do(url, token, container)
    allowed = {op for op, status in seen.items() if status < 300}
    assert allowed == EXPECTED[level], seen
    assert all(status == 403 for op, status in seen.items() if op not in allowed), seen


@pytest.mark.parametrize("level", ["read-only", "read-write", "admin"])
def test_only_admins_see_and_set_the_acl(owner, tester3, level):
    url, token = tester3
    grant(owner, level)
    headers = swift_client.head_account(url, token)
    mine = {"read-write": ["test:tester2"]}
    status = status_of(swift_client.post_account, url, token, {ACL: json.dumps(mine)})
    if level == "admin":
        assert headers[ACL.lower()] == '{"admin":["test:tester3"]}'
        assert status == 200
        assert owner.head_account()[ACL.lower()] == json.dumps(mine, separators=(",", ":"))
    else:
        assert ACL.lower() not in headers
        assert status == 403
        assert json.loads(owner.head_account()[ACL.lower()]) == {level: ["test:tester3"]}


def test_admin_may_even_revoke_itself(owner, tester3):
    url, token = tester3
    grant(owner, "admin")
    swift_client.post_account(url, token, {ACL: "{}"})
    assert status_of(swift_client.head_account, url, token) == 403
    assert ACL.lower() not in owner.head_account()


def test_strangers_and_plain_users_cannot_set_an_acl(owner, connect, tester3):
    url, token = tester3
    _, stranger = connect("test2:tester2").get_auth()
    wanted = json.dumps({"admin": ["test2:tester2"]})
    assert status_of(swift_client.post_account, url, stranger, {ACL: wanted}) == 403
    assert status_of(swift_client.post_account, url, token, {ACL: wanted}) == 403
    assert ACL.lower() not in owner.head_account()


@pytest.mark.parametrize("garbage", ["yuck", "[]", '{"admin": "test:tester3"}',
                                     '{"admin": [3]}', '{"owner": ["test:tester3"]}'])
def test_garbage_acl_is_400_and_keeps_the_old_one(owner, garbage):
    grant(owner, "read-only")
    with pytest.raises(ClientException) as caught:
        owner.post_account({ACL: garbage})
    assert caught.value.http_status == 400
    assert b"X-Account-Access-Control invalid" in caught.value.http_response_content
    assert json.loads(owner.head_account()[ACL.lower()]) == {"read-only": ["test:tester3"]}


def test_empty_acl_clears_it(owner, tester3):
    url, token = tester3
    grant(owner, "read-only")
    assert status_of(swift_client.head_account, url, token) == 200
    owner.post_account({ACL: "{}"})
    assert ACL.lower() not in owner.head_account()
    assert status_of(swift_client.head_account, url, token) == 403

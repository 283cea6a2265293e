import hashlib

import pytest

from objstore.common.path_hash import HashPathNotConfigured, PathHasher

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def test_hash_is_salted_md5_of_the_path():
    expected = hashlib.md5(b"test-prefix/a/c/o" + b"test-suffix").hexdigest()
    assert HASHER.hash_path("a", "c", "o") == expected
    assert HASHER.hash_path("a", "c", "o", raw_digest=True) == bytes.fromhex(expected)


def test_account_and_container_paths_differ():
    paths = {HASHER.hash_path("a"), HASHER.hash_path("a", "c"), HASHER.hash_path("a", "c", "o")}
    assert len(paths) == 3


def test_unicode_names_hash_as_utf8():
    expected = hashlib.md5("test-prefix/a/c/é".encode() + b"test-suffix").hexdigest()
    assert HASHER.hash_path("a", "c", "é") == expected


def test_object_without_container_is_refused():
    with pytest.raises(ValueError):
        HASHER.hash_path("a", None, "o")


def test_empty_salt_refused():
    with pytest.raises(HashPathNotConfigured):
        PathHasher.from_salt("", "")


def test_two_salts_place_names_apart_and_derive_other_secrets():
    other = PathHasher.from_salt("other-prefix", "other-suffix")
    assert other.hash_path("a", "c", "o") != HASHER.hash_path("a", "c", "o")
    assert other.derive_secret("x") != HASHER.derive_secret("x")
    assert HASHER.derive_secret("x") == PathHasher.from_salt("test-prefix",
                                                             "test-suffix").derive_secret("x")
    assert "test-prefix" not in repr(HASHER)

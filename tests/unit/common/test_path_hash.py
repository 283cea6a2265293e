import hashlib

import pytest

from objstore.common import path_hash
from objstore.common.path_hash import HashPathNotConfigured, configure_hash_path, hash_path


def test_hash_is_salted_md5_of_the_path():
    expected = hashlib.md5(b"test-prefix/a/c/o" + b"test-suffix").hexdigest()
    assert hash_path("a", "c", "o") == expected
    assert hash_path("a", "c", "o", raw_digest=True) == bytes.fromhex(expected)


def test_account_and_container_paths_differ():
    assert len({hash_path("a"), hash_path("a", "c"), hash_path("a", "c", "o")}) == 3


def test_unicode_names_hash_as_utf8():
    expected = hashlib.md5("test-prefix/a/c/é".encode() + b"test-suffix").hexdigest()
    assert hash_path("a", "c", "é") == expected


def test_object_without_container_is_refused():
    with pytest.raises(ValueError):
        hash_path("a", None, "o")


def test_unconfigured_salt_refuses(monkeypatch):
    monkeypatch.setattr(path_hash, "_salt", None)
    with pytest.raises(HashPathNotConfigured):
        hash_path("a")


def test_empty_salt_refused(monkeypatch):
    monkeypatch.setattr(path_hash, "_salt", path_hash._salt)
    with pytest.raises(HashPathNotConfigured):
        configure_hash_path("", "")

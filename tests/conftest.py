"""Shared test setup: every test process hashes paths with a known test salt."""
import pytest

from objstore.common.path_hash import configure_hash_path

TEST_HASH_PREFIX = "test-prefix"
TEST_HASH_SUFFIX = "test-suffix"


@pytest.fixture(autouse=True, scope="session")
def _hash_path_salt():
    configure_hash_path(TEST_HASH_PREFIX, TEST_HASH_SUFFIX)
    yield

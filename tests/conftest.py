"""Shared test setup: a cluster config with a known test salt, built per test.

Nothing is configured process-wide: a test that needs other limits or
policies builds its own ``ClusterConfig``.
"""
import pytest

from objstore.common.cluster_config import ClusterConfig

TEST_HASH_PREFIX = "test-prefix"
TEST_HASH_SUFFIX = "test-suffix"


@pytest.fixture
def cluster_config():
    """A fresh cluster (own /info registry) with the test salt and default settings."""
    return ClusterConfig.build(TEST_HASH_PREFIX, TEST_HASH_SUFFIX)

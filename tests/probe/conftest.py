"""Probe tests: a whole cluster of real processes, broken on purpose, then healed by its daemons.

The cluster here runs no daemons in the background: a test calls
``cluster.run_daemons_once()`` at the moment it wants the repair to happen,
so nothing depends on timing.
"""
import pytest
from swiftclient import client as swift_client

from objstore.aio.cluster import USERS, Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    aio = Cluster(str(tmp_path_factory.mktemp("probe")), port=0, background_daemons=False)
    aio.start()
    try:
        yield aio
    finally:
        aio.stop()


@pytest.fixture
def conn(cluster):
    connection = swift_client.Connection(authurl=cluster.auth_url, user="test:tester",
                                         key=USERS["test:tester"], retries=0, timeout=30)
    yield connection
    connection.close()

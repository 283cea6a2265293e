"""objstore-aio: a whole cluster (proxy and N storage nodes) on one machine."""

"""The ring: where every account, container and object lives.

* ``builder.RingBuilder`` (offline, operators and ``objstore-ring-builder``):
  devices, the replica -> partition -> device table, rebalancing
  (``placement``), saved as versioned gzip JSON.
* ``ring.Ring`` / ``ring.load_ring`` (every server): reads the compact
  ``<name>.ring.gz`` file (``ring_data``) and answers lookups.

Only ``objstore.common`` is imported from here.
"""

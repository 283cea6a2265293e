"""The text of every config file objstore ships, in one place.

``etc/*.conf-sample`` (what an operator copies to /etc/objstore) and the
configs ``objstore-aio`` writes into its data directory are both rendered
from the templates below, so the two can never drift apart: the samples are
the templates filled with production defaults (``render_sample``), the aio's
files are the same templates filled with its paths and ports.  A unit test
checks that ``etc/`` matches; regenerate it with
``python -m objstore.aio.templates etc``.

Placeholders are ``str.format`` fields; a literal brace would be ``{{``.
A daemon's section uses ``{<daemon_name>_log_file}`` (dashes as underscores),
which the aio fills per node and the samples leave empty.
"""
from __future__ import annotations

import os
import string
import sys
from types import MappingProxyType
from typing import Mapping, Optional

OBJSTORE_CONF = """\
# objstore.conf: what every process of one cluster must agree on.
# Copy it to /etc/objstore/objstore.conf on every host (proxies and storage nodes).

[hash]
# The salt mixed into every name before it is hashed onto the ring.  Set both to
# long random strings when the cluster is created and NEVER change them afterwards:
# every object would become unreachable.  At least one of them must be set.
hash_path_prefix = {hash_path_prefix}
hash_path_suffix = {hash_path_suffix}

[constraints]
# Limits the proxy enforces on client requests (and advertises in GET /info).
# The values shown are the defaults.
# max_file_size = 5368709122
# max_meta_name_length = 128
# max_meta_value_length = 256
# max_meta_count = 90
# max_meta_overall_size = 4096
# max_header_size = 8192
# max_object_name_length = 1024
# container_listing_limit = 10000
# account_listing_limit = 10000
# max_account_name_length = 256
# max_container_name_length = 256
# extra_header_count = 0

# Storage policies.  A client picks one per container (X-Storage-Policy on the
# container PUT); a container created without one gets the default policy.
# Each policy has its own object ring, whose replica count is the policy's:
# object.ring.gz for index 0, object-<index>.ring.gz otherwise; its objects live
# in <device>/objects/ (index 0) or <device>/objects-<index>/.  A deprecated
# policy keeps serving its containers but takes no new ones.
{storage_policies}"""

# The policies of a production sample: one, as a new cluster starts.
SAMPLE_POLICIES = """\
[storage-policy:0]
name = Policy-0
default = yes
# policy_type = replication
# aliases =
# deprecated = no

# A second policy (it needs object-1.ring.gz, e.g. built with 2 replicas):
# [storage-policy:1]
# name = silver
# aliases = cheap
"""

# The all-in-one cluster's: gold (the default, the full replica count) and
# silver (two replicas), so both placements can be tried on one machine.
AIO_POLICY_SECTIONS = MappingProxyType({
    0: """\
[storage-policy:0]
name = gold
default = yes
policy_type = replication
# aliases =
# deprecated = no
""",
    1: """\
[storage-policy:1]
name = silver
policy_type = replication
# aliases =
# deprecated = no
""",
})

_CLUSTER_CONF = """\
[DEFAULT]
# Where objstore.conf (hash salt, constraints, policies) is.
objstore_conf = {objstore_conf}
"""

# Only servers whose daemons read a ring name the ring directory: every option
# a file sets must be one something reads.
_RING_DIR = """\
# Where the ring files (account.ring.gz, ...) are.
swift_dir = {swift_dir}
"""

_NODE_DEFAULT = """\
# The directory holding this node's devices (one sub-directory per device).
devices = {devices}
# Refuse to use a device directory that is not a mount point (set it on real
# hardware so a missing disk is never filled up through the root filesystem).
mount_check = {mount_check}
bind_ip = {bind_ip}
bind_port = {bind_port}
# 0 serves in the main process; N forks N worker processes sharing the socket.
workers = 0
# client_timeout = 60
# graceful_shutdown_timeout = 30
# Empty: log to stderr.
log_file = {log_file}
# log_level = INFO
"""

OBJECT_SERVER_CONF = """\
# object-server.conf: one object server (and its daemons) on a storage node.

""" + _CLUSTER_CONF + _RING_DIR + _NODE_DEFAULT + """
[pipeline:main]
pipeline = object-server

[app:object-server]
use = egg:objstore#object
# log_name = object-server
# Towards the container servers this node updates after a write (seconds).
# conn_timeout = 0.5
# node_timeout = 3
# A client (the proxy) silent this long mid-upload is dropped.
# client_timeout = 60
# network_chunk_size = 1048576
# disk_chunk_size = 1048576
# Free space every device keeps, in bytes or as a percentage of its size
# (ending in %): a PUT that would leave no more than that is refused (507).
# fallocate_reserve = 1%
# Objects larger than this many bytes are dropped from the page cache once
# they are on disk (written once, rarely read back: keep the cache for others).
# keep_cache_size = 5242880
# Seconds per bucket container of the expiring-objects queue; must match the
# proxy's (it finds the queue row of an object's previous X-Delete-At).
# expiring_objects_container_divisor = 86400
# Seconds a tombstone is kept before replication may forget it (one week).
# reclaim_age = 604800

[object-replicator]
# Keeps this node's partitions alike with their other replicas (REPLICATE and
# SSYNC to the other object servers, no rsync) and pushes handoff partitions
# home.  Runs every `interval` seconds.
interval = {db_daemon_interval}
log_file = {object_replicator_log_file}
# Partitions replicated at once, and the bytes per second sent (0: no limit).
# concurrency = 1
# max_bytes_per_second = 0
# conn_timeout = 0.5
# node_timeout = 10
# Seconds a tombstone is kept before it may be forgotten (one week); keep it
# longer than any node may stay down, or a deleted object can come back.
# reclaim_age = 604800
# log_name = object-replicator

[object-auditor]
# Reads every object on this node's devices and checks it against its ETag and
# metadata; a corrupt one is moved to <device>/quarantined/ (never deleted)
# and the replicator brings back a good copy.  Also removes temp files of
# abandoned writes.  Runs every `interval` seconds.
interval = {db_daemon_interval}
log_file = {object_auditor_log_file}
# full: read every byte and check its MD5; quick: only sizes and metadata.
# mode = full
# Object bytes read and objects opened per second (0: no limit).
bytes_per_second = {auditor_bytes_per_second}
files_per_second = {auditor_files_per_second}
# Seconds after its last write that a temp file counts as abandoned.
# temp_max_age = 86400
# disk_chunk_size = 65536
# log_name = object-auditor

[object-updater]
# Retries the container updates that failed while an object was written
# (the async_pending files).  Runs every `interval` seconds.
interval = {daemon_interval}
log_file = {object_updater_log_file}
# concurrency = 8
# conn_timeout = 0.5
# node_timeout = 10
# log_name = object-updater

[object-expirer]
# Deletes objects whose X-Delete-At has passed, found through the queue in
# the hidden .expiring_objects account.  Runs every `interval` seconds.
interval = {daemon_interval}
log_file = {object_expirer_log_file}
# The expirers sharing the queue, and which one this is (0..processes-1);
# processes = 0 makes this one expire every due object.
processes = {expirer_processes}
process = {expirer_process}
# Requests to the servers at once (EXPIRE batches, or DELETEs to older nodes).
# concurrency = 32
# conn_timeout = 0.5
# node_timeout = 30
# listing_limit = 10000
# Rows expired together: one EXPIRE per object-server device, then one
# listing update per container replica and one queue update per bucket replica.
# row_batch = 500
# log_name = object-expirer
"""

CONTAINER_SERVER_CONF = """\
# container-server.conf: one container server (and its daemons) on a storage node.

""" + _CLUSTER_CONF + _RING_DIR + _NODE_DEFAULT + """
[pipeline:main]
pipeline = container-server

[app:container-server]
use = egg:objstore#container
# log_name = container-server
# Seconds to wait for another process's lock on a container database.
# db_timeout = 25
# Towards the account servers told about a container (seconds).
# conn_timeout = 0.5
# node_timeout = 3
# Accounts whose name starts with this are created on first use.
# auto_create_account_prefix = .

[container-updater]
# Sends each container's object count and bytes used to its account.
# Runs every `interval` seconds.
interval = {daemon_interval}
log_file = {container_updater_log_file}
# Databases reported at once.
# concurrency = 4
# conn_timeout = 0.5
# node_timeout = 3
# db_timeout = 25
# log_name = container-updater

[container-replicator]
# Keeps the replicas of every container database equal (REPLICATE to the
# other replicas: missing rows, or the whole file when far behind) and
# moves databases off handoff devices once every primary has them.
interval = {db_daemon_interval}
log_file = {container_replicator_log_file}
# Databases replicated at once.
# concurrency = 4
# Rows per request, and requests per database before the whole file is sent.
# per_diff = 1000
# max_diffs = 100
# Seconds deleted rows (and deleted databases) are kept: longer than any
# outage, or a replica that missed a delete brings the row back.
# reclaim_age = 604800
# conn_timeout = 0.5
# node_timeout = 10
# db_timeout = 25
# log_name = container-replicator

[container-auditor]
# Checks every container database's integrity and schema; a broken one is
# moved to <device>/quarantined/containers/ (never deleted) and the
# replicator restores it from another replica.
interval = {db_daemon_interval}
log_file = {container_auditor_log_file}
# full_check = no
# log_name = container-auditor
"""

ACCOUNT_SERVER_CONF = """\
# account-server.conf: one account server (and its daemons) on a storage node.

""" + _CLUSTER_CONF + _RING_DIR + _NODE_DEFAULT + """
[pipeline:main]
pipeline = account-server

[app:account-server]
use = egg:objstore#account
# log_name = account-server
# Seconds to wait for another process's lock on an account database.
# db_timeout = 25
# Accounts whose name starts with this are created on first use.
# auto_create_account_prefix = .

[account-replicator]
# Keeps the replicas of every account database equal (REPLICATE to the
# other replicas) and moves databases off handoff devices.
interval = {db_daemon_interval}
log_file = {account_replicator_log_file}
# concurrency = 4
# per_diff = 1000
# max_diffs = 100
# Seconds deleted rows (and deleted databases) are kept.
# reclaim_age = 604800
# conn_timeout = 0.5
# node_timeout = 10
# db_timeout = 25
# log_name = account-replicator

[account-auditor]
# Checks every account database's integrity and schema; a broken one is
# moved to <device>/quarantined/accounts/ (never deleted).
interval = {db_daemon_interval}
log_file = {account_auditor_log_file}
# full_check = no
# log_name = account-auditor

[account-reaper]
# Empties accounts a reseller admin deleted: every object, then every
# container, then the account's container rows.
interval = {db_daemon_interval}
log_file = {account_reaper_log_file}
# Seconds after an account's DELETE before its data is removed (time to undo
# a mistake); 0 reaps on the next pass.
# delay_reaping = 0
# concurrency = 8
# conn_timeout = 0.5
# node_timeout = 10
# log_name = account-reaper
"""

# The proxy pipeline, outermost first.  objstore-aio drops a filter whose code
# is not installed (with a warning) and restores it once it is.
PROXY_PIPELINE = ("catch_errors", "gatekeeper", "healthcheck", "proxy_logging",
                  "domain_remap", "bulk", "tempurl", "formpost", "s3api", "tempauth", "cors",
                  "staticweb", "copy", "container_quotas", "account_quotas", "slo",
                  "dlo", "versioned_writes", "object_versioning", "symlink",
                  "proxy-server")

PROXY_SERVER_CONF = """\
# proxy-server.conf: the public endpoint.  Clients (swift CLI, rclone, curl...)
# talk to it; it talks to the storage nodes the rings name.

[DEFAULT]
objstore_conf = {objstore_conf}
swift_dir = {swift_dir}
bind_ip = {bind_ip}
bind_port = {bind_port}
workers = 0
# client_timeout = 60
# graceful_shutdown_timeout = 30
# Empty: log to stderr.
log_file = {log_file}
# log_level = INFO
# HTTPS: with both set, the proxy serves TLS on bind_port (PEM certificate
# chain and its private key).  Empty: plain HTTP.
cert_file = {cert_file}
key_file = {key_file}

# The filters a request passes through, outermost first, then the app.
[pipeline:main]
pipeline = {pipeline}

[app:proxy-server]
use = egg:objstore#proxy
# Create an account on its first authorized write (tempauth accounts are never
# created explicitly).
account_autocreate = true
# Allow PUT/DELETE on accounts by a reseller admin.
# allow_account_management = false
# Timeouts towards the storage nodes (seconds).
# conn_timeout = 0.5
# node_timeout = 10
# A GET stalled mid-body moves to another replica after this long (default node_timeout).
# recoverable_node_timeout = 10
# client_timeout = 60
# A node that fails error_suppression_limit times within error_suppression_interval
# seconds is skipped ("error limited") for the rest of that interval.
# error_suppression_interval = 60
# error_suppression_limit = 10
# How many nodes (primaries, then handoffs) one request may try.
# request_node_count = 2 * replicas
# shuffle | none: the order replicas are read from.
# sorting_method = shuffle
# object_chunk_size = 1048576
# client_chunk_size = 262144
# put_queue_depth = 4
# A PUT whose Content-Length is at most this is read whole, then sent to each
# object server with its headers in one write (0 turns this off).
# whole_body_put_max = 65536
# Seconds per bucket container of the expiring-objects queue (objects with
# X-Delete-At); the object servers must use the same value.
# expiring_objects_container_divisor = 86400
# How long an account's / container's existence is cached (seconds).
# recheck_account_existence = 60
# recheck_container_existence = 10
# 0: unlimited.
# max_containers_per_account = 0
# true: a GET, HEAD or POST with "X-Open-Expired: true" reaches an object whose
# X-Delete-At has passed but that the expirer has not removed yet (a POST that
# sets a new X-Delete-At, or none, brings it back); shown in /info.
# allow_open_expired = false

[filter:catch_errors]
# Turns an unexpected exception anywhere below into a clean 500 and gives every
# request its X-Trans-Id.
use = egg:objstore#catch_errors
# log_name = catch-errors

[filter:gatekeeper]
# Keeps clients from sending or seeing system metadata and X-Backend headers:
# the state middleware keeps for itself (ACLs, large-object markers...).
use = egg:objstore#gatekeeper

[filter:healthcheck]
# GET /healthcheck answers 200 OK (for load balancers).
use = egg:objstore#healthcheck
# When this file exists, /healthcheck answers 503 (take the proxy out of rotation).
# disable_path =

[filter:proxy_logging]
# One access-log line per client request.
use = egg:objstore#proxy_logging
# access_log_name = proxy-access
# How many characters of an auth token the log shows.
# reveal_sensitive_prefix = 16
# Also log every request header.
# log_headers = false

[filter:domain_remap]
# http://<container>.<account>.<storage_domain>/<object> is served as
# /v1/<account>/<container>/<object> (the account's first "-" stands for "_":
# site.auth-test.example.com is AUTH_test/site).  Keep it left of every filter
# that reads the path.
use = egg:objstore#domain_remap
# One or more domains, comma-separated.
storage_domain = {storage_domain}
# path_root = v1
# reseller_prefixes = AUTH
# Prefix given to an account host without a known one (empty: left alone).
# default_reseller_prefix =
# Serve a host outside storage_domain that is a DNS alias (CNAME) of a name
# inside it, e.g. www.example.net CNAME site.auth-test.example.com; other
# hosts then answer 400 (IP addresses are never looked up).
# cname_lookup = false
# cname_lookup_depth = 1
# DNS servers as ip[:port], comma-separated (empty: those of /etc/resolv.conf).
# nameservers =
# cname_lookup_timeout = 2.0

[filter:bulk]
# PUT ?extract-archive=tar|tar.gz|tar.bz2 and POST/DELETE ?bulk-delete.  Keep it
# left of the auth filter: each file or name becomes a sub-request that auth checks.
use = egg:objstore#bulk
# max_containers_per_extraction = 10000
# max_failed_extractions = 1000
# max_deletes_per_request = 10000
# max_failed_deletes = 1000
# Delete sub-requests one bulk delete keeps in flight at once.
# delete_concurrency = 2
# Seconds between the spaces that keep a long request's connection alive.
# yield_frequency = 10

[filter:tempurl]
# Signed links to one object (or a prefix) for a while: ?temp_url_sig=&temp_url_expires=,
# keyed by X-Account-Meta-Temp-URL-Key(-2) / X-Container-Meta-Temp-URL-Key(-2).
# Keep it left of the auth filter: a valid link authorizes its request.
use = egg:objstore#tempurl
# Methods a link may be signed for.
# methods = GET HEAD PUT POST DELETE
# allowed_digests = sha1 sha256 sha512
# Request headers dropped from a temp URL request (a trailing * matches a prefix);
# the allow list wins over the remove list.
# incoming_remove_headers = x-timestamp x-open-expired
# incoming_allow_headers =
# Response headers kept from a temp URL's holder.
# outgoing_remove_headers = x-object-meta-*
# outgoing_allow_headers = x-object-meta-public-*

[filter:formpost]
# HTML forms that upload files straight into a container (POST multipart/form-data),
# signed with the temp URL keys.  Keep it left of the auth filter.
use = egg:objstore#formpost
# allowed_digests = sha1 sha256 sha512

[filter:s3api]
# The S3 API: requests signed AWS-style (V4 or V2) are served as Swift requests of
# the signing user.  Access key: <account>:<user>; secret: that user's tempauth key.
# Keep it just left of the auth filter, which checks the signatures.
use = egg:objstore#s3api
# Hosts <bucket>.<domain> address a bucket (virtual-hosted style); comma-separated.
storage_domain = {storage_domain}
# The region signatures must name.
# location = us-east-1
# max_bucket_listing = 1000
# max_multi_delete_objects = 1000
# Multipart uploads: the smallest part but the last, and the most parts (each
# part is an SLO segment: keep it within slo's max_manifest_segments).
# min_segment_size = 5242880
# max_upload_part_num = 1000
# Seconds a proxy caches which account holds a bucket name, for unsigned
# path-style reads of public-read buckets (the registry is cluster-wide).
# bucket_owner_cache_seconds = 10.0

[filter:tempauth]
# Simple built-in users, for test clusters and small deployments.
use = egg:objstore#tempauth
# Account prefixes this auth serves; the first is used for users' own accounts.
reseller_prefix = AUTH, SERVICE
# Requests to SERVICE_ accounts also need a token of a user in group "service".
SERVICE_require_group = service
# The URL prefix tokens are requested from: GET /auth/v1.0.
# auth_prefix = /auth/
# Seconds a token stays valid.
# token_life = 86400
# Let a middleware earlier in the pipeline decide authorization instead.
# allow_overrides = true
# default: storage URLs use the scheme of the auth request; or http / https.
# storage_url_scheme = default
# Requests to AUTH_ accounts also need a token of a user in this group.
# require_group =
# log_name = tempauth
# Secret that signs tokens; every proxy of a cluster must share it.
token_secret = {token_secret}
# user_<account>_<user> = <key> [group ...]   (.admin: owns the account;
# .reseller_admin: may act on every account)
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test_tester2 = testing2 .admin
user_test_tester3 = testing3
user_test2_tester2 = testing2 .admin
user_test5_tester5 = testing5 service

[filter:cors]
# Cross-origin requests from web pages: OPTIONS preflights and the
# Access-Control-* headers on answers, as each container's
# X-Container-Meta-Access-Control-Allow-Origin / -Max-Age / -Expose-Headers
# allow.  Keep it right after the auth filter: preflights need no token,
# and every answer below (copies, large objects) gets its headers.
use = egg:objstore#cors
# Origins allowed on every container (and on accounts), comma separated.
# cors_allow_origin =
# Yes: only allowed origins get CORS headers on actual requests.
# strict_cors_mode = true
# Headers every actual response exposes besides the defaults, comma separated.
# cors_expose_headers =

[filter:staticweb]
# Public containers (X-Container-Read: .r:*,.rlistings) as websites for anonymous
# visitors: X-Container-Meta-Web-Index, -Web-Error, -Web-Listings, -Web-Listings-CSS,
# -Web-Directory-Type.  Authenticated requests opt in with X-Web-Mode: true.
# Keep it right after the auth and cors filters.
use = egg:objstore#staticweb

[filter:copy]
# Server-side copy: COPY requests and PUT with X-Copy-From.
use = egg:objstore#copy

[filter:container_quotas]
# X-Container-Meta-Quota-Bytes / -Quota-Count: uploads (and copies) that would
# take a container past them get 413.  Keep it right of copy and left of slo/dlo.
use = egg:objstore#container_quotas

[filter:account_quotas]
# X-Account-Quota-Bytes / -Quota-Count, set only by a reseller admin: uploads
# that would take the account past them get 413.  Right of copy, left of slo/dlo.
use = egg:objstore#account_quotas

[filter:slo]
# Static large objects: PUT ?multipart-manifest=put stores a JSON list of
# segments; GET serves them concatenated.  Keep it right of copy.
use = egg:objstore#slo
# max_manifest_segments = 1000
# max_manifest_size = 8388608
# Segments HEADed at once while a manifest is checked / deleted at once.
# concurrency = 4
# delete_concurrency = 4

[filter:dlo]
# Dynamic large objects: an object with X-Object-Manifest: <container>/<prefix>
# is served as that container's objects under <prefix>, in name order.
use = egg:objstore#dlo
# max_segments = 100000

[filter:versioned_writes]
# Containers with X-Versions-Location (older versions stacked; DELETE restores
# the previous one) or X-History-Location (DELETE keeps every version and a
# delete marker).  Keep it right of slo and dlo, so manifests are archived as
# manifests.  Without this filter those headers are ignored, never stored.
use = egg:objstore#versioned_writes
# false: the filter refuses (412) to turn versioning on for a container.
allow_versioned_writes = true

[filter:object_versioning]
# X-Versions-Enabled: true on a container keeps every version of its objects
# (in a hidden container), lists them with ?versions and addresses one with
# ?version-id=.  Versions are reached through static links: keep it left of
# symlink (and right of slo and dlo, so manifests are versioned as manifests).
use = egg:objstore#object_versioning

[filter:symlink]
# Objects that stand for another one (PUT with X-Symlink-Target); reads follow
# them.  Keep it right of slo, dlo and versioned_writes.
use = egg:objstore#symlink
# How many links one read may follow (409 beyond).
# symloop_max = 2
"""

TEMPLATES: Mapping[str, str] = MappingProxyType({
    "objstore.conf": OBJSTORE_CONF,
    "proxy-server.conf": PROXY_SERVER_CONF,
    "object-server.conf": OBJECT_SERVER_CONF,
    "container-server.conf": CONTAINER_SERVER_CONF,
    "account-server.conf": ACCOUNT_SERVER_CONF,
})

# Ports of a production node, as Swift uses them.
DEFAULT_PORTS = MappingProxyType({"proxy": 8080, "object": 6200, "container": 6201,
                                  "account": 6202})

SAMPLE_VALUES: Mapping[str, str] = MappingProxyType({
    "hash_path_prefix": "",
    "hash_path_suffix": "changeme",
    "objstore_conf": "/etc/objstore/objstore.conf",
    "swift_dir": "/etc/objstore",
    "devices": "/srv/node",
    "mount_check": "false",
    "bind_ip": "127.0.0.1",
    "log_file": "",
    "daemon_interval": "300",
    "db_daemon_interval": "300",
    "auditor_bytes_per_second": "10000000",
    "auditor_files_per_second": "20",
    "expirer_processes": "0",
    "expirer_process": "0",
    "token_secret": "change-me-to-a-long-random-string",
    "storage_domain": "example.com",
    "cert_file": "",
    "key_file": "",
    "pipeline": " ".join(PROXY_PIPELINE),
    "storage_policies": SAMPLE_POLICIES,
})


def render(name: str, values: Mapping[str, str]) -> str:
    """The config file ``name`` (a key of TEMPLATES) filled with ``values``."""
    kind = name.split("-", 1)[0].split(".", 1)[0]
    fields = {"kind": kind}
    fields.update(values)
    text = TEMPLATES[name].format(**fields)
    # an empty value leaves "key = " behind; drop the trailing blank
    return "\n".join(line.rstrip() for line in text.split("\n"))


def log_file_key(process: str) -> str:
    """The placeholder naming a daemon's log file: object-updater -> object_updater_log_file."""
    return process.replace("-", "_") + "_log_file"


def placeholders(name: str) -> set[str]:
    return {field for _text, field, _spec, _conv in string.Formatter().parse(TEMPLATES[name])
            if field}


def render_sample(name: str) -> str:
    kind = name.split("-", 1)[0].split(".", 1)[0]
    values = dict(SAMPLE_VALUES, bind_port=str(DEFAULT_PORTS.get(kind, "")))
    values.update({field: "" for field in placeholders(name) if field.endswith("_log_file")})
    return render(name, values)


def sample_file_name(name: str) -> str:
    return name + "-sample"


def write_samples(directory: str) -> list[str]:
    """Write every ``<name>-sample`` into ``directory``; return the paths."""
    written = []
    for name in TEMPLATES:
        path = os.path.join(directory, sample_file_name(name))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render_sample(name))
        written.append(path)
    return written


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m objstore.aio.templates ETC_DIR", file=sys.stderr)
        return 2
    for path in write_samples(args[0]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

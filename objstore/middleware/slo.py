"""Static large objects (Swift's ``slo``): one object made of listed segment objects.

* ``PUT ?multipart-manifest=put`` with a JSON list of segments: every segment
  is checked with a HEAD sub-request (a few at once), then the normalised
  list is stored as the object's body with ``X-Static-Large-Object: True``
  and the large object's ETag and size kept as sysmeta, so a HEAD needs no
  manifest read.
* ``GET``/``HEAD`` answer with the concatenated segments (ranges and
  conditionals against the SLO ETag), or with one segment for
  ``?part-number=N`` (:mod:`objstore.middleware.slo_part_number`);
  ``?multipart-manifest=get`` returns the stored manifest as JSON
  (``&format=raw``: the PUT-able form, under the large object's own
  Content-Type so a server-side copy of it keeps that type).
* ``DELETE ?multipart-manifest=delete`` deletes the segments, then the
  manifest, answering like Swift's bulk delete.

Sub-requests carry ``multipart-manifest=get`` whenever they want an object's
own bytes, so neither this filter nor dlo (to its right) expands them.  This
filter also leaves itself in the environ (``SLO_READER_KEY``): dlo reads its
segments through it, so an SLO among a DLO's segments is served as its content.
"""
from __future__ import annotations

import base64
import dataclasses
import email.utils
import hashlib
import io
import json
import mimetypes
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from urllib.parse import parse_qs, quote, urlencode

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPile
from objstore.common.config import TRUE_VALUES, ConfigError, ConfigSection, to_bool
from objstore.common.http_response import plain_response
from objstore.common.listing_format import strip_swift_bytes
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.middleware import slo_manifest as manifest
from objstore.middleware.client_body import BodyError, read_client_body
from objstore.middleware.slo_heartbeat import heartbeat_put
from objstore.middleware.slo_part_number import BadPartNumber, part_response, requested_part
from objstore.middleware.segments import (
    MANIFEST_QUERY,
    SLO_READER_KEY,
    SegmentError,
    SegmentPiece,
    clip,
    close_response,
    from_wsgi,
    large_object_response,
    probe_object,
    read_body,
    stream_pieces,
    subrequest,
    to_wsgi,
)

SLO_HEADER = "X-Static-Large-Object"
SYSMETA_ETAG = "X-Object-Sysmeta-Slo-Etag"
SYSMETA_SIZE = "X-Object-Sysmeta-Slo-Size"
MAX_NESTING = 10
# What the object server sends as this object's ETag in its container update.
OVERRIDE_ETAG_ENV = "HTTP_X_OBJECT_SYSMETA_CONTAINER_UPDATE_OVERRIDE_ETAG"
# Headers of the stored manifest that describe its own bytes, not the large object's.
MANIFEST_ONLY_HEADERS = ("content-length", "etag", "content-range", SYSMETA_ETAG.lower(),
                         SYSMETA_SIZE.lower())


def manifest_query_for(req: Request) -> str:
    """The query reading the manifest the client asked for (one version of it, if named)."""
    version_id = req.GET.get("version-id")
    if version_id:
        return "%s&%s" % (MANIFEST_QUERY, urlencode({"version-id": version_id}))
    return MANIFEST_QUERY


@dataclasses.dataclass
class SloConfig(ConfigSection):
    max_manifest_segments: int = 1000
    max_manifest_size: int = 8 * 1024 * 1024
    yield_frequency: int = 10
    # Segments HEADed at once while a manifest is checked / deleted at once.
    concurrency: int = 4
    delete_concurrency: int = 4
    log_name: str = "slo"

    def validate(self) -> None:
        for name in ("max_manifest_segments", "max_manifest_size", "concurrency",
                     "delete_concurrency"):
            if getattr(self, name) < 1:
                raise ConfigError("option %r must be at least 1" % name)


def is_slo(resp: Response) -> bool:
    try:
        return to_bool(resp.headers.get(SLO_HEADER) or "false")
    except ValueError:
        return False


def plain(status: int, text: str) -> Response:
    return plain_response(status, text.rstrip("\n") + "\n")


def wants_json(req: Request) -> bool:
    return "json" in (req.headers.get("Accept") or "").lower()


def bulk_body(req: Request, counts: dict, errors: list[tuple[str, str]], status: str) -> Response:
    """An answer shaped like Swift's bulk middleware (JSON or plain text, per Accept)."""
    result = dict(counts)
    result.update({"Response Status": status, "Response Body": "", "Errors": errors})
    if wants_json(req):
        resp = Response(status=200, content_type="application/json", charset="utf-8")
        resp.body = json.dumps({k: [list(e) for e in v] if k == "Errors" else v
                                for k, v in result.items()}).encode("utf-8")
        return resp
    lines = ["%s: %s" % (key, result[key]) for key in sorted(result) if key != "Errors"]
    lines.append("Errors:")
    lines.extend("%s, %s" % (name, reason) for name, reason in errors)
    resp = Response(status=200, content_type="text/plain", charset="utf-8")
    resp.body = ("\n".join(lines) + "\n").encode("utf-8")
    return resp


def iso_last_modified(http_date: Optional[str]) -> Optional[str]:
    if not http_date:
        return None
    try:
        return email.utils.parsedate_to_datetime(http_date).strftime("%Y-%m-%dT%H:%M:%S.%f")
    except (TypeError, ValueError, IndexError):
        return None


class StaticLargeObject:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: SloConfig):
        self.app = app
        self.conf = conf
        self.logger = get_logger(conf.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[SLO_READER_KEY] = self
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 5 or not all(parts[1:]):
            return self.app(environ, start_response)
        req = Request(environ)
        mode = parse_qs(environ.get("QUERY_STRING", "")).get("multipart-manifest", [""])[0]
        method = req.method
        if method in ("GET", "HEAD"):
            if mode == "get":
                resp = self.manifest_get(req)
            else:
                resp = self.get_or_head(req, parts[1], parts[2])
        elif method == "PUT" and mode == "put":
            resp = self.put_manifest(req, parts[1], parts[2])
        elif method == "PUT" and SLO_HEADER in req.headers:
            resp = plain(400, "X-Static-Large-Object is a reserved header. To create a "
                              "static large object add query param multipart-manifest=put.")
        elif method == "DELETE" and mode == "delete":
            resp = self.delete_all(req, parts[1], parts[2])
        else:
            return self.app(environ, start_response)
        return resp(environ, start_response)

    # -- reading -----------------------------------------------------------------
    def manifest_get(self, req: Request) -> Response:
        raw = req.GET.get("format") == "raw"
        fetch = req
        if raw and req.method == "HEAD":
            # the raw form's length and ETag are those of a body built from the manifest
            env = {k: v for k, v in req.environ.items() if not k.startswith("webob.")}
            fetch = Request(dict(env, REQUEST_METHOD="GET"))
        resp = fetch.get_response(self.app)
        if not is_slo(resp) or resp.status_int != 200:
            return resp
        for name in (SYSMETA_ETAG, SYSMETA_SIZE):
            resp.headers.pop(name, None)
        if not raw:
            # the stored bytes as they are, so the ETag is the manifest's own
            resp.headers["Content-Type"] = "application/json; charset=utf-8"
            return resp
        body = read_body(resp, 4 * self.conf.max_manifest_size)
        try:
            entries = manifest.parse_stored_manifest(body)
        except ValueError:
            return self._broken_manifest(req)
        out = json.dumps(manifest.raw_manifest(entries)).encode("utf-8")
        resp.app_iter = [b""] if req.method == "HEAD" else [out]
        resp.headers["Content-Length"] = str(len(out))
        resp.headers["Content-Type"] = strip_swift_bytes(resp.headers.get("Content-Type", ""))
        resp.headers["Etag"] = hashlib.md5(out).hexdigest()
        return resp

    def get_or_head(self, req: Request, version: str, account: str) -> Response:
        first = req.get_response(self.app)
        if not is_slo(first):
            if first.status_int not in (412, 416):
                return first
            probe = probe_object(req.environ, self.app, req.environ["PATH_INFO"])
            if not is_slo(probe) or probe.status_int != 200:
                return first
            close_response(first)
            first = probe
        elif first.status_int not in (200, 206, 304):
            return first
        try:
            part = requested_part(req)
        except BadPartNumber as err:
            close_response(first)
            # Clients compare this reason byte for byte: no trailing newline.
            return plain_response(400, str(err))
        if req.method == "HEAD" and part is None and first.headers.get(SYSMETA_ETAG) and \
                (first.headers.get(SYSMETA_SIZE) or "").isdigit():
            close_response(first)
            return large_object_response(req, self._client_headers(first),
                                         int(first.headers[SYSMETA_SIZE]),
                                         first.headers[SYSMETA_ETAG], lambda s, e: iter(()))
        have_body = (req.method == "GET" and first.status_int == 200
                     and first.request is not None and "Range" not in req.headers
                     and first.request.method == "GET")
        if not have_body:
            close_response(first)
            first = subrequest(req.environ, "GET", req.environ["PATH_INFO"],
                               manifest_query_for(req), "SLO").get_response(self.app)
            if not is_slo(first) or first.status_int != 200:
                close_response(first)
                return self._broken_manifest(req) if first.status_int < 300 else first
        try:
            entries = manifest.parse_stored_manifest(
                read_body(first, 4 * self.conf.max_manifest_size))
        except (ValueError, SegmentError):
            return self._broken_manifest(req)
        total = sum(manifest.entry_length(e) for e in entries)
        etag = first.headers.get(SYSMETA_ETAG) or manifest.slo_etag(entries)
        environ = req.environ

        def read_range(start: int, end: int) -> Iterator[bytes]:
            pieces = self._pieces(environ, version, account, entries, start, end, 0)
            return stream_pieces(self.app, environ, pieces, self.logger, "SLO")

        if part is not None:
            lengths = [manifest.entry_length(e) for e in entries]
            return part_response(req, self._client_headers(first), lengths, etag, part,
                                 read_range)
        return large_object_response(req, self._client_headers(first), total, etag, read_range)

    def _client_headers(self, resp: Response) -> list[tuple[str, str]]:
        headers = [(k, strip_swift_bytes(v) if k.lower() == "content-type" else v)
                   for k, v in resp.headers.items() if k.lower() not in MANIFEST_ONLY_HEADERS]
        if resp.headers.get("Etag"):
            headers.append(("X-Manifest-Etag", resp.headers["Etag"].strip('"')))
        if not any(k.lower() == "accept-ranges" for k, _v in headers):
            headers.append(("Accept-Ranges", "bytes"))
        return headers

    def _broken_manifest(self, req: Request) -> Response:
        self.logger.error("unreadable SLO manifest at %s", from_wsgi(req.environ["PATH_INFO"]))
        return plain(500, "Unable to load SLO manifest")

    def _segment_path(self, version: str, account: str, name: str) -> str:
        return "/%s/%s%s" % (version, account, to_wsgi("/" + name.lstrip("/")))

    def _pieces(self, environ: dict, version: str, account: str, entries: list[dict],
                start: int, end: int, depth: int) -> Iterator[SegmentPiece]:
        """The segment byte ranges behind ``[start, end)``, nested manifests expanded."""
        sized = ((e, manifest.entry_length(e)) for e in entries)
        for entry, inner_start, inner_end in clip(sized, start, end):
            if "data" in entry:
                data = base64.b64decode(entry["data"])
                yield SegmentPiece("", inner_start, inner_end, data=data)
                continue
            seg_start, _seg_end = manifest.entry_range(entry)
            path = self._segment_path(version, account, entry["name"])
            if entry.get("sub_slo"):
                if depth + 1 >= MAX_NESTING:  # the top manifest counts as one level
                    raise SegmentError("manifests nested more than %d deep" % MAX_NESTING)
                sub_entries = self._sub_manifest(environ, path, entry)
                yield from self._pieces(environ, version, account, sub_entries,
                                        seg_start + inner_start, seg_start + inner_end,
                                        depth + 1)
                continue
            yield SegmentPiece(path, seg_start + inner_start, seg_start + inner_end,
                               etag=entry["hash"], size=int(entry["bytes"]))

    def _sub_manifest(self, environ: dict, path: str, entry: dict) -> list[dict]:
        resp = subrequest(environ, "GET", path, MANIFEST_QUERY, "SLO").get_response(self.app)
        if resp.status_int != 200 or not is_slo(resp):
            close_response(resp)
            raise SegmentError("sub-manifest %s: GET answered %s" % (entry["name"], resp.status))
        try:
            entries = manifest.parse_stored_manifest(
                read_body(resp, 4 * self.conf.max_manifest_size))
        except ValueError as err:
            raise SegmentError("sub-manifest %s: %s" % (entry["name"], err)) from None
        etag = resp.headers.get(SYSMETA_ETAG) or manifest.slo_etag(entries)
        if etag != entry["hash"]:
            raise SegmentError("sub-manifest %s: etag %s does not match %s"
                               % (entry["name"], etag, entry["hash"]))
        return entries

    # -- writing -----------------------------------------------------------------
    def put_manifest(self, req: Request, version: str, account: str) -> Response:
        try:
            body = read_client_body(req.environ, self.conf.max_manifest_size, "Manifest File")
            segments = manifest.parse_put_manifest(body, self.conf.max_manifest_segments)
        except (BodyError, manifest.ManifestError) as err:
            return plain(err.status, err.reason)
        entries: list[dict] = []
        errors: list[tuple[str, str]] = []
        checks = self._check_segments(req, version, account, segments, entries, errors)
        if (req.GET.get("heartbeat") or "").strip().lower() in TRUE_VALUES:
            return heartbeat_put(req, checks, errors,
                                 lambda: self._conclude_put(req, entries, errors),
                                 self.conf.yield_frequency)
        for _tick in checks:
            pass
        return self._conclude_put(req, entries, errors)

    def _check_segments(self, req: Request, version: str, account: str,
                        segments: list[manifest.RequestedSegment], entries: list[dict],
                        errors: list[tuple[str, str]]) -> Iterator[None]:
        """HEAD every segment (a few at once), filling ``entries`` and ``errors`` in order.

        Yields once per segment checked, so a heartbeat can go out meanwhile.
        """
        own_path = from_wsgi(req.environ["PATH_INFO"]).split("/", 3)[3]
        pile = GreenPile(self.conf.concurrency)
        for segment in segments:
            pile.spawn(self._check_segment, req, version, account, segment, own_path)
        for segment, (entry, reason) in zip(segments, pile):
            if reason is None and segment.index < len(segments) - 1 and \
                    manifest.entry_length(entry) < manifest.MIN_SEGMENT_SIZE:
                reason = "Too small; each segment must be at least 1 byte."
            if reason is not None:
                errors.append((quote(segment.given_path or "Index %d" % segment.index),
                               reason))
            entries.append(entry)
            yield None

    def _conclude_put(self, req: Request, entries: list[dict],
                      errors: list[tuple[str, str]]) -> Response:
        """Store the checked manifest, or the answer saying why not."""
        # A client without valid credentials hears so directly; a segment it may not
        # read (403, e.g. in another account) is one more listed problem.
        unauthorized = next((r for _name, r in errors if r.startswith("401")), None)
        if unauthorized:
            return plain(401, unauthorized)
        if errors:
            return self._put_errors(req, errors)
        etag = manifest.slo_etag(entries)
        wanted = (req.headers.get("Etag") or "").strip('"')
        if wanted and wanted != etag:
            return plain(422, "Unprocessable Entity: ETag %s does not match the manifest's "
                              "ETag %s" % (wanted, etag))
        total = sum(manifest.entry_length(e) for e in entries)
        stored = json.dumps(entries).encode("utf-8")
        resp = self._store_manifest(req, stored, etag, total)
        if 200 <= resp.status_int < 300:
            resp.headers["Etag"] = '"%s"' % etag
        return resp

    def _put_errors(self, req: Request, errors: list[tuple[str, str]]) -> Response:
        if wants_json(req):
            resp = Response(status=400, content_type="application/json", charset="utf-8")
            resp.body = json.dumps({"Errors": [list(e) for e in errors]}).encode("utf-8")
            return resp
        return plain(400, "Errors:\n" + "\n".join("%s, %s" % e for e in errors))

    def _store_manifest(self, req: Request, stored: bytes, etag: str, total: int) -> Response:
        env = dict(req.environ)
        for key in ("HTTP_ETAG", "HTTP_TRANSFER_ENCODING", "HTTP_EXPECT", "webob.adhoc_attrs"):
            env.pop(key, None)
        env = {k: v for k, v in env.items() if not k.startswith("webob.")}
        guessed = mimetypes.guess_type(from_wsgi(req.environ["PATH_INFO"]))[0]
        content_type = strip_swift_bytes(req.headers.get("Content-Type") or "")
        if not content_type or (req.headers.get("X-Detect-Content-Type") or "").lower() \
                in ("true", "1", "yes", "on"):
            content_type = guessed or "application/octet-stream"
        env.pop("HTTP_X_DETECT_CONTENT_TYPE", None)
        env.update({"QUERY_STRING": "", "CONTENT_LENGTH": str(len(stored)),
                    "CONTENT_TYPE": "%s;swift_bytes=%d" % (content_type, total),
                    "wsgi.input": io.BytesIO(stored), "swift.source": "SLO",
                    "HTTP_X_STATIC_LARGE_OBJECT": "True",
                    "HTTP_X_OBJECT_SYSMETA_SLO_ETAG": etag,
                    "HTTP_X_OBJECT_SYSMETA_SLO_SIZE": str(total)})
        manifest_etag = hashlib.md5(stored).hexdigest()
        # Container listings show the manifest's own ETag with the large object's as a
        # parameter; a value set by a filter to the left is kept and extended.
        base, sep, params = env.get(OVERRIDE_ETAG_ENV, "").partition(";")
        env[OVERRIDE_ETAG_ENV] = "%s; slo_etag=%s" % ((base or manifest_etag) + sep + params,
                                                      etag)
        sub = Request(env)
        sub.headers["Etag"] = manifest_etag
        return sub.get_response(self.app)

    def _check_segment(self, req: Request, version: str, account: str,
                       segment: manifest.RequestedSegment,
                       own_path: str) -> tuple[dict, Optional[str]]:
        """(stored entry, None) or (partial entry, Swift-style reason)."""
        if segment.data is not None:
            return {"data": base64.b64encode(segment.data).decode("ascii")}, None
        if segment.path == "/" + own_path:
            return {}, "Manifest must not include itself as a segment"
        path = self._segment_path(version, account, segment.path)
        head = subrequest(req.environ, "HEAD", path, "", "SLO").get_response(self)
        close_response(head)
        if head.status_int // 100 != 2:
            return {}, head.status
        if "X-Object-Manifest" in head.headers:
            return {}, "Segment is a dynamic large object manifest"
        size = head.content_length or 0
        etag = (head.headers.get("Etag") or "").strip('"')
        if segment.etag is not None and segment.etag != etag:
            return {}, "Etag Mismatch"
        if segment.size_bytes is not None and segment.size_bytes != size:
            return {}, "Size Mismatch"
        try:
            range_text, _length = manifest.resolve_range(segment.range_spec, size)
        except ValueError as err:
            return {}, str(err)
        entry = {"name": segment.path, "bytes": size, "hash": etag,
                 "content_type": head.headers.get("Content-Type", "application/octet-stream"),
                 "last_modified": iso_last_modified(head.headers.get("Last-Modified"))}
        if range_text is not None:
            entry["range"] = range_text
        if is_slo(head):
            entry["sub_slo"] = True
        return entry, None

    # -- deleting ----------------------------------------------------------------
    def delete_all(self, req: Request, version: str, account: str) -> Response:
        top = from_wsgi(req.environ["PATH_INFO"]).split("/", 3)[3]
        counts = {"Number Deleted": 0, "Number Not Found": 0}
        errors: list[tuple[str, str]] = []
        # ``?version-id=`` names one version of the manifest: that version is
        # read and deleted; its segments are plain objects, deleted as named.
        version_id = req.GET.get("version-id")
        top_query = urlencode({"version-id": version_id}) if version_id else ""
        try:
            targets = self._delete_targets(req.environ, version, account, "/" + top, 0,
                                           manifest_query_for(req))
        except _NotAManifest:
            return req.get_response(self.app)
        except _SegmentListError as err:
            if err.reason.startswith(("401", "403")) and err.name == "/" + top:
                return plain(int(err.reason[:3]), err.reason)
            return bulk_body(req, counts, [(quote(err.name), err.reason)], "400 Bad Request")
        if targets is None:
            counts["Number Not Found"] = 1
            return bulk_body(req, counts, [], "200 OK")
        manifests = [name for name, is_manifest in targets if is_manifest]
        segments = [name for name, is_manifest in targets if not is_manifest]
        for batch in (segments, manifests[:-1]):
            self._delete_batch(req.environ, version, account, batch, counts, errors)
        if errors:
            self.logger.warning("kept manifest %s: %d segment deletes failed", top, len(errors))
        else:
            self._delete_batch(req.environ, version, account, manifests[-1:], counts, errors,
                               top_query)
        return bulk_body(req, counts, errors, "400 Bad Request" if errors else "200 OK")

    def _delete_batch(self, environ: dict, version: str, account: str, names: list[str],
                      counts: dict, errors: list, query: str = "") -> None:
        pile = GreenPile(self.conf.delete_concurrency)
        for name in names:
            path = self._segment_path(version, account, name)
            pile.spawn(lambda p: subrequest(environ, "DELETE", p, query, "SLO")
                       .get_response(self.app), path)
        for name, resp in zip(names, pile):
            close_response(resp)
            if resp.status_int // 100 == 2:
                counts["Number Deleted"] += 1
            elif resp.status_int == 404:
                counts["Number Not Found"] += 1
            else:
                errors.append((quote(name), resp.status))

    def _delete_targets(self, environ: dict, version: str, account: str, name: str,
                        depth: int, query: str = MANIFEST_QUERY
                        ) -> Optional[list[tuple[str, bool]]]:
        """``[(name, is_manifest)]``, deepest first, the manifest ``name`` last
        (read with ``query``: the top manifest may name one version)."""
        path = self._segment_path(version, account, name)
        resp = subrequest(environ, "GET", path, query, "SLO").get_response(self.app)
        if resp.status_int == 404:
            close_response(resp)
            return None
        if resp.status_int != 200:
            close_response(resp)
            raise _SegmentListError(name, resp.status)
        if not is_slo(resp):
            close_response(resp)
            if depth == 0:
                raise _NotAManifest()
            return [(name, False)]
        try:
            entries = manifest.parse_stored_manifest(
                read_body(resp, 4 * self.conf.max_manifest_size))
        except (ValueError, SegmentError):
            raise _SegmentListError(name, "Unable to load SLO manifest") from None
        targets: list[tuple[str, bool]] = []
        for entry in entries:
            if "data" in entry:
                continue
            if entry.get("sub_slo") and depth < MAX_NESTING:
                sub = self._delete_targets(environ, version, account, entry["name"], depth + 1)
                targets.extend(sub or [(entry["name"], False)])
            else:
                targets.append((entry["name"], False))
        # nested manifests go after every plain segment; this manifest goes last
        ordered = [t for t in targets if not t[1]] + [t for t in targets if t[1]]
        ordered.append((name, True))
        return ordered


class _NotAManifest(Exception):
    pass


class _SegmentListError(Exception):
    def __init__(self, name: str, reason: str):
        super().__init__(reason)
        self.name = name
        self.reason = reason


@typed_factory(SloConfig)
def filter_factory(cluster: ClusterConfig, conf: SloConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], StaticLargeObject]:
    cluster.capabilities.register("slo", max_manifest_segments=conf.max_manifest_segments,
                                  max_manifest_size=conf.max_manifest_size,
                                  min_segment_size=manifest.MIN_SEGMENT_SIZE,
                                  yield_frequency=conf.yield_frequency)

    def make_filter(app: Callable) -> StaticLargeObject:
        return StaticLargeObject(app, conf)

    return make_filter

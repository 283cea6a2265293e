"""Extract archive: a tar (plain, gzip or bzip2) becomes one object per regular file.

The archive is read in ``tarfile``'s stream mode straight from the request
body, and each member's bytes are handed to its object PUT as that
sub-request's body, so nothing larger than tarfile's block buffer is held
in memory whatever the archive's size.

Where a member lands: ``/v1/<account>/<target>/<member name>``, where the
target is whatever followed the account in the request path (a container,
a container and a prefix, or nothing: then the member's first path element
is its container, and members at the top level have nowhere to go and are
skipped).  Leading ``./`` and ``/`` are dropped, so an absolute member name
stays under the target; a name with a ``..`` element is refused (listed
with 400) rather than resolved, so no member can climb out of the target.
Directories, links, devices and FIFOs carry no data and are skipped.

Per-file metadata travels in pax headers as GNU tar and bsdtar write them
for extended attributes: ``SCHILY.xattr.user.meta.<name>`` (or the
``LIBARCHIVE.`` spelling) becomes ``X-Object-Meta-<name>``, and
``…xattr.user.mime_type`` the object's Content-Type.
"""
from __future__ import annotations

import dataclasses
import tarfile
import zlib
from types import MappingProxyType
from typing import Any, Callable, Iterator, Optional
from urllib.parse import quote

from objstore.common.http_text import str_to_bytes, str_to_wsgi
from objstore.middleware.bulk_report import BulkReport, status_line
from objstore.middleware.segments import close_response, from_wsgi, subrequest, to_wsgi

NUMBER_FILES_CREATED = "Number Files Created"
# ?extract-archive=<value> -> tarfile's compression suffix
ARCHIVE_TYPES = MappingProxyType({"tar": "", "tar.gz": "gz", "tar.bz2": "bz2"})
PAX_META_PREFIXES = ("SCHILY.xattr.user.meta.", "LIBARCHIVE.xattr.user.meta.")
PAX_CONTENT_TYPE_KEYS = ("SCHILY.xattr.user.mime_type", "LIBARCHIVE.xattr.user.mime_type")
# What a damaged, truncated or mislabelled archive raises while being read.
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)
# Request headers that apply to every extracted object.
COPIED_HEADER_NAMES = ("x-delete-at", "x-delete-after")


def archive_compression(value: str) -> Optional[str]:
    """The tarfile compression for an ``extract-archive`` value (None: unsupported)."""
    return ARCHIVE_TYPES.get(value.strip().lower().strip("."))


class UnsafeMemberName(ValueError):
    """A member name that would climb out of the extraction target."""


def member_target(base: str, member_name: str) -> str:
    """``container/object`` for a member ("" when it has no container to go to)."""
    name = member_name
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    if ".." in name.split("/"):
        raise UnsafeMemberName(member_name)
    if not name:
        return ""
    target = base + "/" + name if base else name
    container, _slash, obj = target.partition("/")
    if not container or not obj:
        return ""
    return target


def pax_headers(member: tarfile.TarInfo) -> dict[str, str]:
    """Object headers (WSGI-encoded values) from the member's pax extended attributes."""
    headers = {}
    for key, value in member.pax_headers.items():
        encoded = str_to_wsgi(value)
        if key in PAX_CONTENT_TYPE_KEYS:
            headers["Content-Type"] = encoded
            continue
        for prefix in PAX_META_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                headers["X-Object-Meta-" + key[len(prefix):]] = encoded
    return headers


class MemberReader:
    """The body of one member as a sub-request's ``wsgi.input``.

    A damaged archive raises tarfile's own errors mid-read; the proxy only
    knows how to treat an ``OSError`` from a body (a client disconnect), so
    the error is kept here for the extraction to report and an ``OSError``
    ends the object's upload, which then is not stored.
    """

    def __init__(self, fileobj: Any):
        self._fileobj = fileobj
        self.error: Optional[BaseException] = None

    def read(self, size: int = -1) -> bytes:
        try:
            return self._fileobj.read(size)
        except ARCHIVE_ERRORS as err:
            self.error = err
            raise OSError("archive unreadable: %s" % err) from None


@dataclasses.dataclass
class ExtractLimits:
    max_containers: int
    max_failures: int
    max_file_size: int          # the cluster's constraint: larger members fail with 413


class _Abort(Exception):
    def __init__(self, code: int, body: str = ""):
        super().__init__(body)
        self.code = code
        self.body = body


class Extraction:
    """One extract-archive request: containers seen, outcome so far."""

    def __init__(self, app: Callable, environ: dict, version: str, account: str, base: str,
                 report: BulkReport, limits: ExtractLimits, object_headers: dict[str, str]):
        self.app = app
        self.environ = environ
        self.version = version
        self.account = account
        self.base = base
        self.report = report
        self.limits = limits
        self.object_headers = object_headers
        self.ready_containers: set[str] = set()
        self.failure_code = 400

    def run(self, archive: Any, compression: str) -> Iterator[None]:
        """Create every regular file's object; yields after each member (keep-alive points)."""
        try:
            with tarfile.open(fileobj=archive, mode="r|" + compression, encoding="utf-8",
                              errors="surrogateescape") as tar:
                for member in tar:
                    if len(self.report.errors) >= self.limits.max_failures:
                        raise _Abort(400, "Max failed extractions: %d" % self.limits.max_failures)
                    if member.isfile():
                        self._extract(tar, member)
                        yield None
        except _Abort as abort:
            self.report.finish(status_line(abort.code), abort.body)
            return
        except ARCHIVE_ERRORS as err:
            reason = str(err) or type(err).__name__
            self.report.finish(status_line(400), "Invalid Tar File: %s" % reason)
            return
        if self.report.errors:
            self.report.finish(status_line(self.failure_code))
        elif not self.report.counts[NUMBER_FILES_CREATED]:
            self.report.finish(status_line(400), "Invalid Tar File: No Valid Files")

    def _shown(self, target: str) -> str:
        text = "/%s/%s/%s" % (self.version, from_wsgi(self.account), target)
        return quote(str_to_bytes(text), safe="/")

    def _extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        try:
            target = member_target(self.base, member.name)
        except UnsafeMemberName:
            name = self.base + "/" + member.name if self.base else member.name
            self.report.fail(self._shown(name), status_line(400))
            return
        if not target:
            return
        shown = self._shown(target)
        try:
            target.encode("utf-8")
        except UnicodeEncodeError:
            self.report.fail(shown, status_line(412))
            return
        if member.size > self.limits.max_file_size:
            self.report.fail(shown, status_line(413))
            return
        container = target.split("/", 1)[0]
        container_failure = self._ensure_container(container)
        headers = dict(self.object_headers)
        headers.update(pax_headers(member))
        headers["Content-Length"] = str(member.size)
        path = "/%s/%s/%s" % (self.version, self.account, to_wsgi(target))
        req = subrequest(self.environ, "PUT", path, "", "EA", headers)
        reader = MemberReader(tar.extractfile(member))
        req.environ["wsgi.input"] = reader
        resp = req.get_response(self.app)
        close_response(resp)
        if reader.error is not None:
            raise reader.error
        if 200 <= resp.status_int < 300:
            self.report.count(NUMBER_FILES_CREATED)
            return
        if container_failure is not None:
            self.report.fail(*container_failure)
        if resp.status_int == 401:
            self.report.fail(shown, status_line(401))
            raise _Abort(401)
        if resp.status_int >= 500:
            self.failure_code = 502
        self.report.fail(shown, resp.status)

    def _ensure_container(self, container: str) -> Optional[tuple[str, str]]:
        """Create ``container`` unless seen or existing; a failure to report if the PUT fails.

        A failure here is not final: the user may be allowed to write
        objects into a container it may not create or even HEAD (ACLs).
        """
        if container in self.ready_containers:
            return None
        path = "/%s/%s/%s" % (self.version, self.account, to_wsgi(container))
        head = subrequest(self.environ, "HEAD", path, "", "EA").get_response(self.app)
        close_response(head)
        resp = head
        if head.status_int == 404:
            resp = subrequest(self.environ, "PUT", path, "", "EA").get_response(self.app)
            close_response(resp)
        if resp.status_int == 401:
            raise _Abort(401)
        if 200 <= resp.status_int < 300:
            self.ready_containers.add(container)
            if len(self.ready_containers) > self.limits.max_containers:
                raise _Abort(400, "More than %d containers to create from tar."
                             % self.limits.max_containers)
            return None
        return self._shown(container), resp.status

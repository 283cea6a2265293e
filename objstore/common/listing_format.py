"""Account and container listings as clients see them: plain text, JSON or XML.

The container and account servers render their listings here, and the proxy
reuses the same code when it has to re-render (for example after merging
listings), so every listing in the cluster has one spelling.

The brokers produce typed entries (:class:`ObjectEntry`, :class:`ContainerEntry`,
:class:`SubdirEntry` for a prefix rolled up by ``delimiter``), or for the
container server's hot path object rows as plain tuples of ObjectEntry's
fields; this module chooses the format from ``format=`` or ``Accept`` and
turns entries into bytes.
"""
from __future__ import annotations

import functools
import json
from json.encoder import encode_basestring_ascii
import re
import time
from types import MappingProxyType
from typing import Iterable, NamedTuple, Optional, Sequence, Union
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from objstore.common.timestamp import Timestamp

JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
TEXT_XML_TYPE = "text/xml"
PLAIN_TYPE = "text/plain"

FORMAT_TO_MEDIA_TYPE = MappingProxyType({"plain": PLAIN_TYPE, "json": JSON_TYPE, "xml": XML_TYPE})
# Order matters: with no Accept header (or */*) a listing is plain text, as in Swift.
LISTING_MEDIA_TYPES = (PLAIN_TYPE, JSON_TYPE, XML_TYPE, TEXT_XML_TYPE)


class ObjectEntry(NamedTuple):
    """One object row of a container listing (``created_at`` is an internal timestamp)."""
    name: str
    created_at: str
    size: int
    content_type: str
    etag: str


class ContainerEntry(NamedTuple):
    """One container row of an account listing.

    The broker knows the policy index; the account server, which knows the
    cluster's policies, fills in ``storage_policy`` (the name clients see).
    """
    name: str
    object_count: int
    bytes_used: int
    put_timestamp: str
    storage_policy_index: int = 0
    storage_policy: str = ""


class SubdirEntry(NamedTuple):
    """A prefix that ``delimiter`` rolled up (``name`` ends with the delimiter)."""
    name: str


# A broker may hand over an object row as the plain tuple of ObjectEntry's
# fields, in order: a 10,000-row page then skips 10,000 namedtuples.
ObjectRow = tuple[str, str, int, str, str]
ListingEntry = Union[ObjectEntry, ContainerEntry, SubdirEntry, ObjectRow]


def choose_media_type(format_param: Optional[str], accept_header: Optional[str]) -> Optional[str]:
    """The listing media type for a request, or None when nothing acceptable (406).

    ``format=json|xml|plain`` wins over ``Accept``; an unknown ``format``
    value means plain (Swift does the same).
    """
    if format_param:
        return FORMAT_TO_MEDIA_TYPE.get(format_param.strip().lower(), PLAIN_TYPE)
    if not accept_header or not accept_header.strip():
        return PLAIN_TYPE
    best: Optional[str] = None
    best_quality = 0.0
    for offer in LISTING_MEDIA_TYPES:
        quality = _accept_quality(accept_header, offer)
        if quality > best_quality:
            best, best_quality = offer, quality
    return best


def accepts(accept_header: Optional[str], media_type: str) -> bool:
    """True when a request with this Accept header (None: no header) takes ``media_type``."""
    if not accept_header or not accept_header.strip():
        return True
    return _accept_quality(accept_header, media_type) > 0


def _accept_quality(accept_header: str, offer: str) -> float:
    """Quality the Accept header gives ``offer``; the most specific range decides."""
    offer_type, _, offer_sub = offer.partition("/")
    best_specificity = -1
    quality = 0.0
    for item in accept_header.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        if not media:
            continue
        if media == "*":
            media = "*/*"
        mtype, _, msub = media.partition("/")
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if mtype == offer_type and msub == offer_sub:
            specificity = 2
        elif mtype == offer_type and msub == "*":
            specificity = 1
        elif mtype == "*" and msub in ("*", ""):
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality


def content_type_header(media_type: str) -> str:
    return "%s; charset=utf-8" % media_type


_SWIFT_BYTES = re.compile(r";\s*swift_bytes=(\d+)", re.IGNORECASE)
_ANY_SWIFT_BYTES = re.compile(r";\s*swift_bytes=[^;]*", re.IGNORECASE)


def swift_bytes_param(content_type: str) -> Optional[str]:
    """The ``swift_bytes`` value a manifest's stored type carries, or None."""
    match = _SWIFT_BYTES.search(content_type) if "swift_bytes" in content_type else None
    return match.group(1) if match else None


def strip_swift_bytes(content_type: str) -> str:
    """``content_type`` without any ``swift_bytes`` parameter.

    The parameter is an internal hint: a large-object manifest stores the
    object's real size in it for listings to report.  Coming from a client it
    would make a listing lie about an object's size, and it must never show
    in an answer either.
    """
    if "swift_bytes" not in content_type.lower():
        return content_type
    return _ANY_SWIFT_BYTES.sub("", content_type)


def iso8601_from_internal(created_at: str) -> str:
    """``Timestamp(created_at).iso8601`` with a fast path for the stored fixed-width form.

    A page of 10,000 rows converts 10,000 timestamps; parsing each through
    :class:`Timestamp` would cost more than the database query.
    """
    if len(created_at) >= 16 and created_at[10] == ".":
        seconds, frac = created_at[:10], created_at[11:16]
        if seconds.isdigit() and frac.isdigit():
            return _iso_seconds(seconds) + frac + "0"
    return Timestamp(created_at).iso8601


def _iso_seconds(seconds: str) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` for a 10-digit epoch second.

    Objects uploaded over time mostly have seconds of their own, so a page
    converts thousands of distinct ones; the date and hour repeat, so only
    they go through ``strftime`` (once per hour, cached) and the minutes and
    seconds come from a table: a third of the cost of ``strftime`` per row.
    """
    epoch = int(seconds)
    hour, second_of_hour = divmod(epoch, 3600)
    return _iso_hour(hour) + _MINUTES_SECONDS[second_of_hour]


@functools.lru_cache(maxsize=4096)
def _iso_hour(hour: int) -> str:
    """``YYYY-MM-DDTHH:`` of the hour ``hour`` (hours since the epoch)."""
    return time.strftime("%Y-%m-%dT%H:", time.gmtime(hour * 3600))


# "MM:SS." for each second of an hour (UTC has no leap seconds in epoch time).
_MINUTES_SECONDS = tuple("%02d:%02d." % divmod(second, 60) for second in range(3600))


def _object_dict(entry: ObjectEntry) -> dict:
    content_type = entry.content_type
    size = entry.size
    match = _SWIFT_BYTES.search(content_type) if "swift_bytes" in content_type else None
    if match:
        size = int(match.group(1))
        content_type = content_type[:match.start()] + content_type[match.end():]
    item = {"name": entry.name, "hash": entry.etag, "bytes": size,
            "content_type": content_type, "last_modified": iso8601_from_internal(entry.created_at)}
    if entry.etag and ";" in entry.etag:
        item["hash"], listed = split_listed_etags(entry.etag)
        if "slo_etag" in listed:
            item["slo_etag"] = '"%s"' % listed["slo_etag"]
        if "s3_etag" in listed:
            item["s3_etag"] = listed["s3_etag"]
    return item


# ETag parameters a row may carry that listings show as fields of their own:
# an SLO's ETag, and the S3 ETag of an object a multipart upload assembled.
LISTED_ETAG_PARAMS = ("slo_etag", "s3_etag")


def split_listed_etags(stored_etag: str) -> tuple[str, dict[str, str]]:
    """``(listed hash, {param: ETag})`` from a row's stored ETag.

    An SLO manifest's row holds the manifest's own ETag with the large
    object's as a ``slo_etag`` parameter (and an S3 multipart object's as
    ``s3_etag``); listings show them apart.
    """
    base, *params = [part.strip() for part in stored_etag.split(";")]
    listed: dict[str, str] = {}
    kept = []
    for param in params:
        name, _eq, value = param.partition("=")
        if name.strip().lower() in LISTED_ETAG_PARAMS:
            listed[name.strip().lower()] = value.strip()
        else:
            kept.append(param)
    return "".join([base] + ["; " + p for p in kept]), listed


def _container_dict(entry: ContainerEntry) -> dict:
    data = {"name": entry.name, "count": entry.object_count, "bytes": entry.bytes_used,
            "last_modified": iso8601_from_internal(entry.put_timestamp)}
    if entry.storage_policy:
        data["storage_policy"] = entry.storage_policy
    return data


def entry_as_dict(entry: ListingEntry) -> dict:
    """The JSON object for one entry."""
    if type(entry) is tuple:
        entry = ObjectEntry._make(entry)
    if isinstance(entry, SubdirEntry):
        return {"subdir": entry.name}
    if isinstance(entry, ObjectEntry):
        return _object_dict(entry)
    return _container_dict(entry)


def _json_listing(entries: Iterable[ListingEntry]) -> bytes:
    """The JSON body; the same bytes as ``json.dumps([entry_as_dict(e) for e in entries])``.

    A 10,000-row page is every listing's hot path, so an ordinary object row
    is formatted straight from its fields (one f-string, no dict, no call
    per field) and what repeats within a page is encoded once: each content
    type, and the ``YYYY-MM-DDTHH:MM:SS.`` of each second.  Rows that need
    more (a ``swift_bytes`` size, ETag parameters, an unusual timestamp) and
    every other kind of entry go through :func:`entry_as_dict` and the
    generic encoder, so there is one definition of what a row means.
    """
    parts: list[str] = []
    append = parts.append
    encode = _json_str
    # "1700000000." -> "2023-11-14T22:13:20."; the key keeps the dot, so a
    # hit also proves the timestamp has its usual shape up to the fraction.
    seconds: dict[str, str] = {}
    # stored content type -> its JSON string, or "" when it carries a
    # swift_bytes size that the general path must take out.
    content_types: dict[str, str] = {}
    for entry in entries:
        if type(entry) in _OBJECT_ROW_TYPES:
            name, created_at, size, content_type, etag = entry
            listed_type = content_types.get(content_type)
            if listed_type is None:
                listed_type = content_types[content_type] = (
                    "" if "swift_bytes" in content_type else encode(content_type))
            second = seconds.get(created_at[:11])
            if second is None:
                second = _second_prefix(created_at)
                if second:
                    seconds[created_at[:11]] = second
            fraction = created_at[11:16]
            if listed_type and second and type(etag) is str and ";" not in etag \
                    and len(fraction) == 5 and fraction.isdigit():
                append(f'{{"name": {encode(name)}, "hash": {encode(etag)}, "bytes": {size}, '
                       f'"content_type": {listed_type}, "last_modified": "{second}{fraction}0"}}')
                continue
            entry = ObjectEntry._make(entry)
        elif type(entry) is SubdirEntry:
            append('{"subdir": %s}' % encode(entry.name))
            continue
        append(json.dumps(entry_as_dict(entry)))
    if not parts:
        return b"[]"
    # Brackets on the first and last parts: the page is copied once, by join.
    parts[0] = "[" + parts[0]
    parts[-1] += "]"
    return ", ".join(parts).encode("ascii")


def _second_prefix(created_at: str) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` of a stored ``NNNNNNNNNN.fffff`` timestamp, or "" when
    it has another shape (the general path parses it whole)."""
    digits = created_at[:10]
    if len(created_at) >= 16 and created_at[10] == "." and digits.isdigit():
        return _iso_seconds(digits)
    return ""


# An object row is an ObjectEntry, or the broker's plain tuple of the same
# fields in the same order (a page of rows skips 10,000 namedtuples).
_OBJECT_ROW_TYPES = frozenset((ObjectEntry, tuple))
_json_str = encode_basestring_ascii


# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` escaped for XML content, each character XML cannot carry as U+FFFD.

    Names may hold control characters (only NUL is refused, as in Swift), but
    an XML listing containing one would not parse at all.  The replacement
    keeps every listing parseable; the JSON listing has the exact names.
    """
    return xml_escape(_NOT_XML_CHAR.sub("\ufffd", text))


def xml_attribute(text: str) -> str:
    """``text`` as a quoted XML attribute value, like :func:`xml_text`."""
    return quoteattr(_NOT_XML_CHAR.sub("\ufffd", text))


def _xml_entry(entry: ListingEntry) -> str:
    if type(entry) is tuple:
        entry = ObjectEntry._make(entry)
    if isinstance(entry, SubdirEntry):
        return "<subdir name=%s><name>%s</name></subdir>" % (xml_attribute(entry.name),
                                                             xml_text(entry.name))
    if isinstance(entry, ObjectEntry):
        data = _object_dict(entry)
        return ("<object><name>%s</name><hash>%s</hash><bytes>%d</bytes>"
                "<content_type>%s</content_type><last_modified>%s</last_modified></object>" % (
                    xml_text(data["name"]), xml_text(data["hash"] or ""), data["bytes"],
                    xml_text(data["content_type"] or ""), data["last_modified"]))
    data = _container_dict(entry)
    policy = ("<storage_policy>%s</storage_policy>" % xml_text(entry.storage_policy)
              if entry.storage_policy else "")
    return ("<container><name>%s</name><count>%d</count><bytes>%d</bytes>"
            "<last_modified>%s</last_modified>%s</container>" % (
                xml_text(data["name"]), data["count"], data["bytes"], data["last_modified"],
                policy))


def render_listing(entries: Sequence[ListingEntry], media_type: str, root_tag: str,
                   root_name: str) -> bytes:
    """Listing body in ``media_type``.

    ``root_tag`` is ``container`` (object rows) or ``account`` (container
    rows); ``root_name`` is the container or account name, used by XML.
    An empty plain listing renders as ``b""`` (the server answers 204).
    """
    if media_type == JSON_TYPE:
        return _json_listing(entries)
    if media_type in (XML_TYPE, TEXT_XML_TYPE):
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<%s name=%s>' % (
            root_tag, xml_attribute(root_name))]
        parts.extend(_xml_entry(e) for e in entries)
        parts.append("</%s>" % root_tag)
        return "".join(parts).encode("utf-8")
    if not entries:
        return b""
    # Every kind of entry has its name first.
    return ("\n".join([e[0] for e in entries]) + "\n").encode("utf-8")


def listing_is_empty_plain(entries: Iterable[ListingEntry], media_type: str) -> bool:
    """True when the answer must be ``204 No Content`` (plain text, nothing listed)."""
    return media_type == PLAIN_TYPE and not list(entries)

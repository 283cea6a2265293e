"""Limits every client request is checked against, with Swift's defaults.

The proxy enforces them (and /info publishes them); the storage servers check
the few that protect their own storage.  Values come from objstore.conf
``[constraints]`` so operators can change them in one place; every process
gets them through its :class:`~objstore.common.cluster_config.ClusterConfig`.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

from objstore.common.config import ConfigError, ConfigSection
from objstore.common.http_text import wsgi_to_bytes

MAX_META_OVERALL_SIZE = 4096


@dataclasses.dataclass(frozen=True)
class Constraints(ConfigSection):
    max_file_size: int = 5368709122          # 5 GiB + 2 bytes, as Swift
    max_meta_name_length: int = 128
    max_meta_value_length: int = 256
    max_meta_count: int = 90
    max_meta_overall_size: int = MAX_META_OVERALL_SIZE
    max_header_size: int = 8192
    max_object_name_length: int = 1024
    container_listing_limit: int = 10000
    account_listing_limit: int = 10000
    max_account_name_length: int = 256
    max_container_name_length: int = 256
    extra_header_count: int = 0
    valid_api_versions: tuple = ("v1", "v1.0")

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int) and value <= 0 and field.name != "extra_header_count":
                raise ConfigError("option %r must be positive" % field.name)

    def as_info(self) -> dict:
        """The values as /info publishes them under ``swift``."""
        info = dataclasses.asdict(self)
        info["valid_api_versions"] = list(self.valid_api_versions)
        return info


class MetadataError(ValueError):
    """Metadata that breaks a limit; the message is the client-facing reason."""


def check_metadata(headers: Mapping[str, str], target_type: str,
                   limits: Constraints) -> None:
    """Check ``X-<target_type>-Meta-*`` headers against the limits; raise MetadataError.

    ``target_type`` is ``object``, ``container`` or ``account``; ``headers``
    are WSGI strings, as a request carries them.
    """
    prefix = "x-%s-meta-" % target_type.lower()
    count = 0
    size = 0
    for key, value in headers.items():
        lower = key.lower()
        if not lower.startswith(prefix):
            continue
        name = key[len(prefix):]
        if not name:
            raise MetadataError("Metadata name cannot be empty")
        if target_type in ("account", "container") and not (
                valid_utf8(wsgi_to_bytes(name)) and valid_utf8(wsgi_to_bytes(str(value)))):
            # Account and container metadata is listed back as JSON and XML
            # text; object metadata is opaque bytes to the server.
            raise MetadataError("Metadata must be valid UTF-8")
        name_bytes = len(wsgi_to_bytes(name))
        if name_bytes > limits.max_meta_name_length:
            raise MetadataError("Metadata name too long: %s%s" % (prefix, name))
        vbytes = len(wsgi_to_bytes(str(value)))
        if vbytes > limits.max_meta_value_length:
            raise MetadataError("Metadata value longer than %d: %s%s" % (
                limits.max_meta_value_length, prefix, name))
        count += 1
        size += name_bytes + vbytes
    if count > limits.max_meta_count:
        raise MetadataError("Too many metadata items; max %d" % limits.max_meta_count)
    if size > limits.max_meta_overall_size:
        raise MetadataError("Total metadata too large; max %d" % limits.max_meta_overall_size)


def check_metadata_update(stored: Mapping[str, str], headers: Mapping[str, str],
                          target_type: str, limits: Constraints) -> None:
    """Check the metadata an account or container would hold after this request.

    The count and total-size limits apply to what is stored, not to one
    request: many small POSTs must not add up past them.  An empty value
    removes an item, so it counts for nothing.
    """
    prefix = "x-%s-meta-" % target_type.lower()
    merged = {key.lower(): value for key, value in stored.items()
              if key.lower().startswith(prefix)}
    merged.update((key.lower(), value) for key, value in headers.items()
                  if key.lower().startswith(prefix))
    check_metadata({key: value for key, value in merged.items() if value != ""},
                   target_type, limits)


def valid_utf8(text: str | bytes) -> bool:
    """True for text that is valid UTF-8 and holds no NUL."""
    if isinstance(text, str):
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    else:
        raw = text
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return b"\x00" not in raw

"""The ``[filter:s3api]`` options."""
from __future__ import annotations

import dataclasses

from objstore.common.config import ConfigError, ConfigSection


@dataclasses.dataclass
class S3ApiConfig(ConfigSection):
    # Hosts <bucket>.<domain> are virtual-hosted-style requests.
    storage_domain: list = dataclasses.field(default_factory=list)
    # The one region this cluster is: signatures must name it, and buckets are in it.
    location: str = "us-east-1"
    max_bucket_listing: int = 1000
    max_multi_delete_objects: int = 1000
    # Multipart uploads: every part but the last must hold at least this many
    # bytes, and an upload has at most max_upload_part_num parts (each one an
    # SLO segment, so keep it within slo's max_manifest_segments).
    min_segment_size: int = 5 * 1024 * 1024
    max_upload_part_num: int = 1000
    # Seconds a proxy keeps what the bucket registry said about a bucket name
    # (which account holds it, or that none does) for unsigned requests.
    bucket_owner_cache_seconds: float = 10.0
    log_name: str = "s3api"

    def validate(self) -> None:
        self.storage_domain = [domain.strip(".").lower() for domain in self.storage_domain
                               if domain.strip(".")]
        if not self.location:
            raise ConfigError("option 'location' must not be empty")
        if self.max_bucket_listing < 1 or self.max_multi_delete_objects < 1:
            raise ConfigError("listing and multi-delete limits must be positive")
        if self.bucket_owner_cache_seconds < 0:
            raise ConfigError("bucket_owner_cache_seconds must not be negative")
        if self.min_segment_size < 1 or not 1 <= self.max_upload_part_num <= 10000:
            raise ConfigError("min_segment_size must be positive and max_upload_part_num "
                              "1 to 10000")

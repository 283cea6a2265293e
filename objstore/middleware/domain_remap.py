"""Host names that name an account and container (Swift's ``domain_remap``).

With ``storage_domain = example.com``, a request for
``http://<container>.<account>.example.com/<object>`` is served as
``/v1/<account>/<container>/<object>``, and ``http://<account>.example.com/...``
as ``/v1/<account>/...``.  DNS names cannot hold ``_``, so the account's first
``-`` stands for it (``auth-test`` is ``AUTH_test``); a known reseller prefix
is written in its configured case.  With staticweb after it, a public
container is a website at its own address.

The path the client asked for is kept in ``environ['objstore.remap.client_prefix']``
(what was added in front of it), so redirects and page titles show the
address the visitor used.  Hosts outside the storage domains pass untouched.

With ``cname_lookup = true`` a host outside the storage domains is first
looked up in DNS: when it is an alias (CNAME, followed up to
``cname_lookup_depth`` links) of a name inside them, it is served as that
name, so ``www.example.net CNAME site.auth-test.example.com`` puts a site at
its owner's domain.  A host that is no such alias then answers 400, since
nothing else could be meant; IP addresses are never looked up.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any, Callable, Iterable, Mapping, Optional

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.pipeline import typed_factory
from objstore.middleware.dns_cname import CnameResolver, parse_nameserver, system_nameservers
from objstore.proxy.responses import plain_response

# Where the path added in front of the client's path is recorded.
CLIENT_PREFIX_KEY = "objstore.remap.client_prefix"


def client_path(environ: dict) -> str:
    """The request's path (WSGI form) as the client wrote it, before any remapping."""
    path = environ.get("PATH_INFO", "")
    added = environ.get(CLIENT_PREFIX_KEY)
    if added and path.startswith(added):
        path = path[len(added):] or "/"
    return environ.get("SCRIPT_NAME", "") + path


@dataclasses.dataclass
class DomainRemapConfig(ConfigSection):
    storage_domain: list = dataclasses.field(default_factory=lambda: ["example.com"])
    path_root: str = "v1"
    reseller_prefixes: list = dataclasses.field(default_factory=lambda: ["AUTH"])
    # Prefix given to an account host without a known one ('' leaves it as is).
    default_reseller_prefix: str = ""
    cname_lookup: bool = False
    cname_lookup_depth: int = 1
    # ip[:port] of the DNS servers to ask; empty: those of /etc/resolv.conf.
    nameservers: list = dataclasses.field(default_factory=list)
    cname_lookup_timeout: float = 2.0

    def validate(self) -> None:
        if self.cname_lookup_depth < 1:
            raise ConfigError("option 'cname_lookup_depth' must be at least 1")
        try:
            for server in self.nameservers:
                parse_nameserver(server)
        except ValueError as err:
            raise ConfigError("option 'nameservers': %s" % err) from None
        self.storage_domain = ["." + domain.strip(".").lower()
                               for domain in self.storage_domain if domain.strip(".")]
        if not self.storage_domain:
            raise ConfigError("option 'storage_domain' must name at least one domain")
        self.path_root = self.path_root.strip("/")
        if not self.path_root:
            raise ConfigError("option 'path_root' must not be empty")


def host_without_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class DomainRemap:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: DomainRemapConfig):
        self.app = app
        self.conf = conf
        self.prefixes = {prefix.lower(): prefix for prefix in conf.reseller_prefixes}
        self.resolver: Optional[CnameResolver] = None
        if conf.cname_lookup:
            servers = [parse_nameserver(s) for s in conf.nameservers] or system_nameservers()
            self.resolver = CnameResolver(servers, timeout=conf.cname_lookup_timeout)

    def storage_domain_of(self, host: str) -> Optional[str]:
        return next((d for d in self.conf.storage_domain if host.lower().endswith(d)), None)

    def resolve_alias(self, host: str) -> Optional[str]:
        """The name inside a storage domain that ``host`` is a DNS alias of, else None."""
        assert self.resolver is not None
        name = host
        for _ in range(self.conf.cname_lookup_depth):
            target = self.resolver.cname(name)
            if not target or target == name:
                return None
            if self.storage_domain_of(target) is not None:
                return target
            name = target
        return None

    def account_name(self, label: str) -> Optional[str]:
        """``auth-test`` -> ``AUTH_test``; None for a name no reseller owns."""
        if "_" not in label and "-" in label:
            label = label.replace("-", "_", 1)
        prefix, sep, rest = label.partition("_")
        if sep and prefix.lower() in self.prefixes:
            return self.prefixes[prefix.lower()] + "_" + rest
        if self.conf.default_reseller_prefix:
            return self.conf.default_reseller_prefix + "_" + label
        return label if not self.prefixes else None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = host_without_port(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
        host = host.rstrip(".")
        # Only the domain is compared without case: the labels are WSGI strings
        # whose bytes (a UTF-8 container name) lower() would change.
        domain = self.storage_domain_of(host)
        if domain is None and self.resolver is not None and host and not _is_ip(host):
            alias_of = self.resolve_alias(host)
            if alias_of is None:
                return plain_response(400, "CNAME lookup failed to resolve to a valid domain")(
                    environ, start_response)
            host = alias_of
            domain = self.storage_domain_of(host)
        if domain is None:
            return self.app(environ, start_response)
        labels = host[:-len(domain)].split(".")
        if len(labels) > 2:
            return plain_response(400, "Bad domain in host header")(environ, start_response)
        account = self.account_name(labels[-1])
        if account is None:
            return self.app(environ, start_response)
        prefix = "/%s/%s" % (self.conf.path_root, account)
        if len(labels) == 2:
            prefix += "/" + labels[0]
        path = environ.get("PATH_INFO", "")
        environ[CLIENT_PREFIX_KEY] = prefix
        environ["PATH_INFO"] = prefix + (path if path.startswith("/") else "/" + path)
        return self.app(environ, start_response)


@typed_factory(DomainRemapConfig)
def filter_factory(cluster: ClusterConfig, conf: DomainRemapConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], DomainRemap]:
    cluster.capabilities.register("domain_remap",
                                  default_reseller_prefix=conf.default_reseller_prefix)

    def make_filter(app: Callable) -> DomainRemap:
        return DomainRemap(app, conf)

    return make_filter

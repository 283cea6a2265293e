"""A private CA and a server certificate for ``objstore-aio --tls``, made with the openssl CLI.

Clients that insist on HTTPS (pgBackRest's S3 repository, for one) can then
talk to the all-in-one cluster: they are told to trust ``ca.pem``.  The
server certificate names ``localhost``, ``*.localhost`` (virtual-hosted
buckets) and the bind address.  Files are made once and kept with the data.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from typing import NamedTuple

CA_DAYS = 3650
SERVER_DAYS = 825


class TlsError(RuntimeError):
    """The certificate could not be made; the message says why."""


class TlsFiles(NamedTuple):
    ca_file: str
    cert_file: str
    key_file: str


def tls_files(directory: str) -> TlsFiles:
    return TlsFiles(os.path.join(directory, "ca.pem"), os.path.join(directory, "server.pem"),
                    os.path.join(directory, "server.key"))


def ensure_certificate(directory: str, bind_ip: str) -> TlsFiles:
    """The CA and server certificate in ``directory``, made if missing."""
    files = tls_files(directory)
    if all(os.path.exists(path) for path in files):
        return files
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsError("--tls needs the openssl command (apt-get install openssl)")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ca_key = os.path.join(directory, "ca.key")
    request = os.path.join(directory, "server.csr")
    extensions = os.path.join(directory, "server.ext")
    names = ["DNS:localhost", "DNS:*.localhost", "IP:127.0.0.1"]
    try:
        ipaddress.ip_address(bind_ip)
        names.append("IP:" + bind_ip)
    except ValueError:
        names.append("DNS:" + bind_ip)
    with open(extensions, "w", encoding="ascii") as handle:
        handle.write("basicConstraints = critical, CA:FALSE\n"
                     "keyUsage = critical, digitalSignature, keyEncipherment\n"
                     "extendedKeyUsage = serverAuth\n"
                     "subjectAltName = %s\n" % ", ".join(dict.fromkeys(names)))
    steps = [
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-keyout", ca_key, "-out", files.ca_file, "-days", str(CA_DAYS),
         "-subj", "/CN=objstore-aio local CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-keyout", files.key_file, "-out", request, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", request, "-CA", files.ca_file, "-CAkey", ca_key,
         "-CAcreateserial", "-sha256", "-days", str(SERVER_DAYS), "-extfile", extensions,
         "-out", files.cert_file],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise TlsError("openssl %s failed: %s" % (command[1], done.stderr.strip()))
    for leftover in (request, extensions):
        os.unlink(leftover)
    return files

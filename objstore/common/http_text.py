"""WSGI strings to and from the bytes and text they stand for, with one error policy.

A WSGI environ carries bytes as ``str`` (each byte one latin-1 character,
PEP 3333).  The policy is the same everywhere: conversion never fails and
never loses a byte -- bytes that are not UTF-8 travel as surrogate escapes --
and whether a value *is* valid UTF-8 is a separate question
(:func:`wsgi_is_utf8`) asked where the answer decides a status code.
"""
from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

ERRORS = "surrogateescape"


def wsgi_to_bytes(value: str) -> bytes:
    """The bytes a WSGI string stands for.

    A string holding characters beyond latin-1 was built from text (a test or
    a sub-request), not read off the wire: it stands for its UTF-8 bytes.
    """
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", ERRORS)


def bytes_to_wsgi(raw: bytes) -> str:
    return raw.decode("latin-1")


def wsgi_to_str(value: str) -> str:
    """A WSGI string as the text the client meant (UTF-8; other bytes as surrogates)."""
    return wsgi_to_bytes(value).decode("utf-8", ERRORS)


def str_to_wsgi(text: str) -> str:
    """Text (surrogates included) back to its WSGI form: the exact inverse of wsgi_to_str."""
    return text.encode("utf-8", ERRORS).decode("latin-1")


def str_to_bytes(text: str) -> bytes:
    return text.encode("utf-8", ERRORS)


def bytes_to_str(raw: bytes) -> str:
    return raw.decode("utf-8", ERRORS)


def wsgi_is_utf8(value: str, allow_nul: bool = False) -> bool:
    """True when the WSGI string's bytes are valid UTF-8 (and hold no NUL, unless allowed)."""
    raw = wsgi_to_bytes(value)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return allow_nul or b"\x00" not in raw


def wsgi_strip(value: str) -> str:
    """A WSGI header value without surrounding spaces and tabs (HTTP's whitespace).

    ``str.strip()`` would also take latin-1 characters such as ``\x85`` and
    ``\xa0``, which in a WSGI string are bytes of UTF-8 characters: a name
    ending in U+5605 (``e5 98 85``) would lose its last byte.
    """
    return value.strip(" \t")


def wsgi_quote(value: str, safe: str = "/") -> str:
    """Percent-encode the bytes a WSGI string stands for."""
    return quote(wsgi_to_bytes(value), safe=safe)


def wsgi_unquote(value: str) -> str:
    """Percent-decode a WSGI string, staying in WSGI form."""
    return unquote_to_bytes(wsgi_to_bytes(value)).decode("latin-1")

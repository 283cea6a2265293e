"""XML in and out of the S3 API.

Request bodies are parsed only after refusing any document type declaration:
a DTD is how entity expansion and external entities (XXE) get in, and no S3
request body needs one.  Responses are built from nested ``(name, value)``
pairs so every handler writes data, not markup.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from typing import Iterable, Optional, Union

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

# A value is text (str/int/bool/None) or a list of child (name, value) pairs.
Fields = Iterable[tuple[str, object]]


class XmlRefused(ValueError):
    """The body is not XML we accept (malformed, or carrying a DTD/entity)."""


def parse_xml(body: bytes) -> ElementTree.Element:
    """The root element of ``body`` with namespaces stripped from every tag."""
    if _DOCTYPE.search(body):
        raise XmlRefused("document type declarations are not accepted")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as err:
        raise XmlRefused(str(err)) from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def child_text(element: ElementTree.Element, name: str) -> Optional[str]:
    found = element.find(name)
    return None if found is None else (found.text or "")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ElementTree.Element, fields: Fields) -> None:
    for name, value in fields:
        child = ElementTree.SubElement(parent, name)
        if isinstance(value, list):
            _append(child, value)
        elif value is not None:
            child.text = _text(value)


def to_xml(root_name: str, fields: Union[Fields, list], namespace: bool = True,
           text: Optional[str] = None) -> bytes:
    """``<?xml ...?><root_name xmlns=...>`` with ``fields`` (or ``text``) inside."""
    root = ElementTree.Element(root_name)
    if namespace:
        root.set("xmlns", S3_NAMESPACE)
    if text:
        root.text = text
    _append(root, fields)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        root, encoding="utf-8", xml_declaration=False)

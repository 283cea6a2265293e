"""The result of one bulk request and the three shapes a client may ask it in.

A bulk request does many sub-requests behind one answer whose status line
went out long before the work ended (see :mod:`objstore.middleware.bulk`),
so the real outcome travels in the body: counters, an overall
``Response Status``/``Response Body`` and a list of ``[name, status]``
failures, as text/plain (the default), JSON or XML according to ``Accept``.
An SLO manifest PUT with ``heartbeat=on`` answers the same way.
"""
from __future__ import annotations

import json
from typing import Optional
from xml.sax.saxutils import escape

from webob import Request
from webob import exc as webob_exc
from webob.util import status_reasons

PLAIN = "text/plain"
JSON = "application/json"
FORMATS = (PLAIN, JSON, "application/xml", "text/xml")
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def status_line(code: int) -> str:
    """``404`` -> ``"404 Not Found"``: how the report spells statuses."""
    return "%d %s" % (code, status_reasons.get(code, "Unknown"))


def status_explanation(code: int) -> str:
    """``400`` -> its title and the standard one-sentence explanation, two lines:
    the report's ``Response Body`` when a refusal has no text of its own."""
    error_class = webob_exc.status_map.get(code)
    if error_class is None:
        return status_reasons.get(code, "")
    return "%s\n%s" % (error_class.title, error_class.explanation)


class BulkRequestError(Exception):
    """The request as a whole is refused before any work was done."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def is_xml(content_type: str) -> bool:
    return content_type.endswith("/xml")


def negotiate_format(req: Request) -> Optional[str]:
    """The answer's content type from ``Accept`` (None: nothing we can produce)."""
    if "Accept" not in req.headers:
        return PLAIN
    offers = req.accept.acceptable_offers(FORMATS)
    return offers[0][0] if offers else None


class BulkReport:
    """Counters, failures and the overall status of one bulk request.

    ``root`` names the XML document (``extract`` or ``delete``); the counter
    names are the keys clients read (``Number Files Created`` and so on).
    """

    def __init__(self, root: str, counters: tuple[str, ...], ok_status: str):
        self.root = root
        self.counts = {name: 0 for name in counters}
        self.status = ok_status
        self.body = ""
        self.errors: list[list[str]] = []
        # Further outcome fields some requests add (an upload's ``Etag``, ...).
        self.details: dict[str, str] = {}

    def count(self, name: str) -> None:
        self.counts[name] += 1

    def fail(self, name: str, status: str) -> None:
        self.errors.append([name, status])

    def note(self, name: str, value: str) -> None:
        self.details[name] = value

    def finish(self, status: str, body: str = "") -> None:
        self.status = status
        self.body = body

    def fields(self) -> dict[str, object]:
        fields: dict[str, object] = dict(self.counts)
        fields.update(self.details)
        fields["Response Status"] = self.status
        fields["Response Body"] = self.body
        return fields

    def render(self, content_type: str, declaration: bool = True) -> bytes:
        """The report as ``content_type``; ``declaration=False`` leaves out the XML
        declaration for a caller that already sent it."""
        if content_type == JSON:
            data = self.fields()
            data["Errors"] = self.errors
            return json.dumps(data).encode("utf-8")
        if is_xml(content_type):
            xml = self._render_xml()
            return (XML_DECLARATION + xml if declaration else xml).encode("utf-8")
        lines = ["%s: %s\n" % (key, value) for key, value in sorted(self.fields().items())]
        lines.append("Errors:\n")
        lines.extend("%s, %s\n" % (name, status) for name, status in self.errors)
        return "".join(lines).encode("utf-8")

    def _render_xml(self) -> str:
        out = ["<%s>\n" % self.root]
        for key, value in sorted(self.fields().items()):
            tag = key.replace(" ", "_").lower()
            out.append("<%s>%s</%s>\n" % (tag, escape(str(value)), tag))
        out.append("<errors>\n")
        for name, status in self.errors:
            out.append("<object><name>%s</name><status>%s</status></object>\n"
                       % (escape(name), escape(status)))
        out.append("</errors>\n</%s>\n" % self.root)
        return "".join(out)

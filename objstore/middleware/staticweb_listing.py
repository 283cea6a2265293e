"""The HTML page staticweb shows for a pseudo-directory without an index.

Every name is HTML-escaped for the text and percent-quoted, relative to the
directory, for the link; so a name with ``<``, ``&``, ``"``, ``#``, ``?`` or
non-ASCII characters shows as itself and links to itself.  The structure
(ids ``title``, ``listing``, ``heading``, ``parent``; classes ``item``,
``subdir``, ``type-<major> type-<minor>``, ``colname``/``colsize``/``coldate``)
is stable so a ``Web-Listings-CSS`` stylesheet can style it.
"""
from __future__ import annotations

from html import escape
from typing import Optional
from urllib.parse import quote

DEFAULT_STYLE = """\
  <style type="text/css">
   h1 {font-size: 1em; font-weight: bold;}
   th {text-align: left; padding: 0px 1em 0px 1em;}
   td {padding: 0px 1em 0px 1em;}
   a {text-decoration: none;}
  </style>
"""
SIZE_SUFFIXES = "KMGTPEZY"


def human_size(size: int) -> str:
    """Bytes in binary units, as a directory listing shows them: 512, 2Ki, 3Mi."""
    value = float(size)
    index = -1
    while value >= 1024 and index + 1 < len(SIZE_SUFFIXES):
        index += 1
        value = round(value / 1024)
    if index == -1:
        return "%d" % value
    return "%d%si" % (value, SIZE_SUFFIXES[index])


def listing_date(last_modified: str) -> str:
    """``2026-01-02T03:04:05.123456`` -> ``2026-01-02 03:04:05``."""
    return last_modified.split(".")[0].replace("T", " ")


def stylesheet_href(css: str, prefix: str) -> str:
    """A stylesheet named relative to the container root, seen from ``prefix``'s page."""
    if css.startswith("/") or "://" in css:
        return css
    return "../" * prefix.count("/") + quote(css)


def link_name(name: str) -> str:
    """A name as a relative link that no browser reads as anything else.

    "./" keeps a name holding ":" from being a URL scheme; encoded dots keep
    a name such as ".." from meaning the parent.
    """
    return "./" + quote(name).replace(".", "%2E")


def _row(css_class: str, href: str, text: str, size: str, date: str) -> str:
    return ('   <tr class="%s">\n'
            '    <td class="colname"><a href="%s">%s</a></td>\n'
            '    <td class="colsize">%s</td>\n'
            '    <td class="coldate">%s</td>\n'
            '   </tr>\n') % (css_class, escape(href, quote=True), escape(text), size, date)


def render_listing(label: str, prefix: str, entries: list[dict], css: Optional[str],
                   link_query: str = "", show_parent: Optional[bool] = None) -> str:
    """The page for ``label`` (the path shown) listing ``entries`` under ``prefix``.

    ``link_query`` follows every link, so a temp URL's signature reaches the
    pages it leads to; ``show_parent`` (default: not at the container root)
    hides the parent link where the visitor may not go.
    """
    if show_parent is None:
        show_parent = bool(prefix)
    parts = ['<!DOCTYPE html>\n<html>\n <head>\n  <meta charset="utf-8">\n',
             "  <title>Listing of %s</title>\n" % escape(label)]
    if css:
        parts.append('  <link rel="stylesheet" type="text/css" href="%s" />\n'
                     % escape(stylesheet_href(css, prefix), quote=True))
    else:
        parts.append(DEFAULT_STYLE)
    parts.append(' </head>\n <body>\n'
                 '  <h1 id="title">Listing of %s</h1>\n' % escape(label))
    parts.append('  <table id="listing">\n'
                 '   <tr id="heading">\n'
                 '    <th class="colname">Name</th>\n'
                 '    <th class="colsize">Size</th>\n'
                 '    <th class="coldate">Date</th>\n'
                 '   </tr>\n')
    if show_parent:
        parts.append('   <tr id="parent" class="item">\n'
                     '    <td class="colname"><a href="../%s">../</a></td>\n'
                     '    <td class="colsize">&nbsp;</td>\n'
                     '    <td class="coldate">&nbsp;</td>\n'
                     '   </tr>\n' % escape(link_query, quote=True))
    for entry in entries:
        if "subdir" in entry:
            name = entry["subdir"][len(prefix):]
            parts.append(_row("item subdir", link_name(name) + link_query, name,
                              "&nbsp;", "&nbsp;"))
    for entry in entries:
        if "name" in entry:
            name = entry["name"][len(prefix):]
            types = " ".join("type-" + escape(part.lower(), quote=True)
                             for part in entry.get("content_type", "").split(";")[0].split("/"))
            parts.append(_row("item " + types, link_name(name) + link_query, name,
                              human_size(int(entry.get("bytes", 0))),
                              escape(listing_date(entry.get("last_modified", "")))))
    parts.append("  </table>\n </body>\n</html>\n")
    return "".join(parts)

"""Read the sheets and defined names of ``xl/workbook.xml`` straight from its bytes, for the plain
XML that Excel, WPS and LibreOffice write.

A score sheet defines about 500 names; a streaming parse calls back into Python for every
element, which costs several times more than finding the two tags searched for in the text.
Searching text is only safe when every ``<sheet`` and ``<definedName`` in it is a real element
of the spreadsheet namespace, written the one way searched for. So the part is *plain* only when
it is well-formed (expat, which also refuses any DTD, comment, CDATA section or processing
instruction: :func:`~qc_batch.read.sheet_xml.well_formed`), is UTF-8, has the root
``<workbook>`` declaring the main namespace as its default and every namespace declared anywhere
(no prefix bound to the main namespace), and every ``<sheet``/``<definedName`` element matches
the simple form below with double-quoted attributes free of literal whitespace escapes a parser
would normalise. Anything else raises :class:`~qc_batch.read.sheet_xml.NotPlain` and the caller
uses the streaming parser, which gives the same elements (a differential test proves it).
"""

from __future__ import annotations

import re

from qc_batch.read.sheet_xml import MAIN_NS, NotPlain, decode_text, well_formed

_MAIN = MAIN_NS.decode()
_DECL = re.compile(rb'(?:\xef\xbb\xbf)?<\?xml(?:\s+[A-Za-z]+\s*=\s*(?:"[^"]*"|\'[^\']*\'))*\s*\?>')
_ENCODING = re.compile(rb'encoding\s*=\s*["\']([^"\']*)["\']')
_ATTRS = rb'((?:\s+[^\s=<>/]+\s*=\s*"[^"]*")*)'
_ROOT = re.compile(rb"\s*<workbook" + _ATTRS + rb"\s*>")
_TAG = re.compile(rb"<(sheet|definedName)" + _ATTRS + rb"\s*(?:/>|>([^<]*)</\1\s*>)")
_ANY_TAG = re.compile(rb"<(?:sheet|definedName)[\s/>]")
_ATTR = re.compile(rb'\s+([^\s=]+)\s*=\s*"([^"]*)"')
# The same in text, with the usual lone name="..." attribute caught apart (quotes included, so
# that "" means another form): most of the ~500 elements then need no attribute parse.
_TAG_S = re.compile(r'<(sheet|definedName)(?: name=("[^"]*")|' + _ATTRS.decode() + r')\s*(?:/>|>([^<]*)</\1\s*>)')
_ATTR_S = re.compile(_ATTR.pattern.decode())
_TAGS = {t: "{" + _MAIN + "}" + t for t in ("sheet", "definedName")}


def _attrs(raw: bytes | str, prefixes: dict[bytes, str]) -> dict[str, str]:
    """An element's attributes, keys of prefixed ones as ``{namespace}name``."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    attrs: dict[str, str] = {}
    for name, value in _ATTR.findall(raw):
        prefix, colon, local = name.partition(b":")
        if colon:
            if prefix not in prefixes or b":" in local:
                raise NotPlain
            key = "{" + prefixes[prefix] + "}" + local.decode()
        else:
            key = name.decode()
        attrs[key] = _value(value)
    return attrs


def _elements(body: bytes, prefixes: dict[bytes, str]) -> list[tuple[str, dict[str, str], str]]:
    """The elements of a part with references or whitespace to decode, one by one."""
    return [(_TAGS[m[1].decode()], _attrs(m[2], prefixes), decode_text(m[3] or b"")) for m in _TAG.finditer(body)]


def _value(raw: bytes) -> str:
    if b"\t" in raw or b"\n" in raw or b"\r" in raw:
        raise NotPlain  # a parser normalises literal whitespace in an attribute to spaces
    return decode_text(raw)


def plain_elements(xml: bytes) -> list[tuple[str, dict[str, str], str]]:
    """The ``<sheet>`` and ``<definedName>`` elements, in document order, as the streaming reader
    gives them: (``{namespace}name``, attributes with namespaced keys as ``{namespace}name``,
    text). Raises :class:`NotPlain` for anything not plain."""
    well_formed(xml)
    decl = _DECL.match(xml)
    if decl is not None:
        encoding = _ENCODING.search(decl[0])
        if encoding is not None and encoding[1].lower() not in (b"utf-8", b"utf8"):
            raise NotPlain  # read as another encoding by a parser: left to it
    root = _ROOT.match(xml, decl.end() if decl is not None else 0)
    if root is None or xml.count(b"xmlns") != root[1].count(b"xmlns"):
        raise NotPlain  # every namespace is declared on the root, nowhere else
    prefixes: dict[bytes, str] = {}
    default = None
    for name, raw in _ATTR.findall(root[1]):
        if name == b"xmlns":
            default = _value(raw)
        elif name.startswith(b"xmlns:"):
            prefixes[name[6:]] = _value(raw)
    if default != _MAIN or _MAIN in prefixes.values():
        raise NotPlain  # an element of the main namespace could be written another way
    body = xml[root.end():]
    if any(c in body for c in (b"&", b"\t", b"\n", b"\r")):
        found = _elements(body, prefixes)
    else:  # no reference, and no whitespace a parser would normalise: the text is the bytes decoded
        # once, and an element without a prefixed attribute needs no per-attribute work
        found = [(_TAGS[tag], {"name": name[1:-1]} if name else
                  dict(_ATTR_S.findall(attrs)) if ":" not in attrs else _attrs(attrs, prefixes), inner)
                 for tag, name, attrs, inner in _TAG_S.findall(body.decode("utf-8"))]  # "": a group not matched
    if len(found) != len(_ANY_TAG.findall(body)):
        raise NotPlain  # an element written another way (with children, single quotes ...)
    return found

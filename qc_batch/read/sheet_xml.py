"""Read named cells straight from worksheet XML, for the plain XML that Excel, WPS and
LibreOffice write.

Ingest needs about 300 cells of a workbook, most of them on one sheet. Finding
each cell's tag in the raw XML (in document order, so the sheet is scanned about
once) is several times faster than having python-calamine parse every cell.

Only plain XML takes this path. :class:`NotPlain` is raised — and the caller reads
the workbook with python-calamine instead — for anything else: a DTD (which is
how entities could be declared) or any ``<!`` in the shared strings or in a cell
read, a sheet without ``<sheetData``, a cell whose tag does not begin with its
``r`` address, an unknown cell type, prefixed elements (the shared strings do
not add up), or a cell that does not close. No entity is ever expanded: the text
is searched, not parsed, and only the five predefined XML entities and
character references are decoded.

Values are what python-calamine gives, with one exception: a number formatted
as a date comes back as its serial number (the readers accept both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_T = re.compile(rb"<t(?:\s[^>]*)?(?<!/)>(.*?)</t>", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_TYPE = re.compile(rb'\st="([^"]*)"')
_FORMULA_START = re.compile(rb"\s*<f[\s>/]")
_UNIQUE = re.compile(rb'uniqueCount="([0-9]+)"')
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class NotPlain(Exception):
    """The XML is not in the plain form read here; read the workbook with python-calamine."""


def _entity(m: re.Match) -> str:
    e = m[1]
    if e[0] == "#":
        code = int(e[2:], 16) if e[1] in "xX" else int(e[1:])
        try:
            return chr(code)
        except (ValueError, OverflowError):
            raise NotPlain from None
    return _NAMED[e]


def _decode(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    return text


def rich_text(raw: bytes) -> str:
    """The text of a ``<si>`` or ``<is>``: its ``<t>`` runs, without phonetic runs,
    with Excel's ``_xHHHH_`` escapes decoded."""
    if b"<rPh" in raw:
        raw = _RPH.sub(b"", raw)
    text = "".join(_decode(t) for t in _T.findall(raw))
    if "_x" in text:
        text = _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    return text


class SharedStrings:
    """``xl/sharedStrings.xml``, decoded on demand."""

    def __init__(self, xml: bytes):
        if b"<!" in xml:
            raise NotPlain
        if b"<si/>" in xml:
            raise NotPlain  # empty items: rare, left to python-calamine
        pieces = xml.split(b"</si>")[:-1]
        items = [p[p.rfind(b"<si>") + 4:] for p in pieces]
        if any(p.rfind(b"<si>") < 0 for p in pieces):
            raise NotPlain
        unique = _UNIQUE.search(xml, 0, 2000)
        if unique is not None and int(unique[1]) != len(items):
            raise NotPlain  # prefixed elements, or a count the file gets wrong
        self._raw = items
        self._text: dict[int, str] = {}

    def __getitem__(self, k: int) -> str:
        if k not in self._text:
            if not 0 <= k < len(self._raw):
                raise NotPlain
            self._text[k] = rich_text(self._raw[k])
        return self._text[k]


_NOT_ADDRESSED = re.compile(rb'<c(?: (?!r=")|>)')


def check_plain(xml: bytes) -> None:
    """Refuse a sheet with a DTD, without ``<sheetData``, or with a cell whose tag does not
    begin with its address. (Comments and CDATA elsewhere are harmless: a cell's own
    value is checked when it is read.)"""
    root = xml.find(b"<worksheet")
    if root < 0 or b"<!" in xml[:root] or b"<sheetData" not in xml:
        raise NotPlain
    if _NOT_ADDRESSED.search(xml):
        raise NotPlain


def locate(xml: bytes, address: str, start: int = 0) -> int:
    """Where the tag of the cell at ``address`` begins (-1: not in the XML). Searched from
    ``start`` first (cells come in document order), then from the top."""
    tag = b'<c r="' + address.encode() + b'"'
    for begin in (start, 0) if start else (0,):
        at = xml.find(tag, begin)
        while at >= 0 and xml[at + len(tag):at + len(tag) + 1] not in (b" ", b">", b"/"):  # <c r="I1" ≠ "I12"
            at = xml.find(tag, at + 1)
        if at >= 0:
            return at
    return -1


def holds_formula(xml: bytes, tag_end: int) -> bool:
    """Whether the cell whose opening tag ends at ``tag_end`` (its ``>``) holds a formula."""
    return xml[tag_end - 1] != 0x2F and _FORMULA_START.match(xml, tag_end + 1) is not None


def cell_values(xml: bytes, cells: Iterable[tuple[str, int, int, str]], strings: SharedStrings | None
                ) -> tuple[dict[str, Any], set[str]]:
    """Values of ``cells`` (key, row, col, address) on one sheet, and the keys holding a formula.

    The sheet must have passed :func:`check_plain`. A cell not in the XML is blank (None).
    """
    values: dict[str, Any] = {}
    formulas: set[str] = set()
    pos = 0
    for key, _row, _col, address in sorted(cells, key=lambda c: (c[1], c[2])):
        at = locate(xml, address, pos)
        if at < 0:
            values[key] = None
            continue
        pos = at
        end = xml.find(b">", at)
        if end < 0:
            raise NotPlain
        if xml[end - 1] == 0x2F:  # "/>": an empty cell
            values[key] = None
            continue
        close = xml.find(b"</c>", end)
        if close < 0:
            raise NotPlain
        inner = xml[end + 1:close]
        if holds_formula(xml, end):
            formulas.add(key)
        kind = _TYPE.search(xml, at, end)
        values[key] = _value(kind[1] if kind else b"n", inner, strings)
    return values, formulas


def _value(kind: bytes, inner: bytes, strings: SharedStrings | None) -> Any:
    if b"<!" in inner:
        raise NotPlain  # CDATA or a comment inside the cell
    if kind == b"inlineStr":
        start = inner.find(b"<is>")
        return rich_text(inner[start + 4:inner.find(b"</is>", start)]) if start >= 0 else None
    start = inner.find(b"<v>")
    if start < 0:
        return None
    v = inner[start + 3:inner.find(b"</v>", start)]
    if kind == b"n":
        try:
            return float(v) if v else None
        except ValueError:
            raise NotPlain from None
    if kind == b"s":
        if strings is None or not v.isdigit():
            raise NotPlain
        return strings[int(v)]
    if kind == b"b":
        return v == b"1"
    if kind == b"e":
        return None  # an error value (#DIV/0! ...) reads as blank, as with python-calamine
    if kind in (b"str", b"d"):
        return _decode(v)
    raise NotPlain

"""Read named cells straight from worksheet XML, for the plain XML that Excel, WPS and
LibreOffice write.

Ingest needs about 300 cells of a workbook, most of them on one sheet. Finding
each cell's tag in the raw XML (in document order, so the sheet is scanned about
once) is several times faster than parsing every element.

Searching text is only safe when every ``<`` in the searched range starts a real
element of the spreadsheet namespace, and every cell tag is written the one way
searched for. So a part is *plain* only when it is well-formed XML (checked by expat at C
speed, :func:`well_formed`), has, anywhere, no DTD, comment, CDATA section or processing
instruction;
declares the main namespace once, as the root's default; and, inside
``<sheetData>`` (or the shared strings), has no namespace declaration, no prefixed
element, no cell tag other than ``<c r="A1" ...>`` with a valid address first, no
cell address twice, and cell contents in the simple forms below. Anything else
raises :class:`NotPlain`, and the caller reads the part with the full parser
(:mod:`qc_batch.read.sheet_full`), which gives the same values (a differential
test proves it). No entity is ever expanded: only the five predefined XML entities
and character references of legal XML characters are decoded.

Numbers come back as floats (a number formatted as a date is its serial number; the
readers accept both), text cut to :data:`~qc_batch.read.cells.MAX_CELL_CHARS`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from xml.parsers import expat

from qc_batch.read.cells import MAX_CELL_CHARS

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_T = re.compile(rb"<t(?:\s[^<>]*)?(?:/>|>([^<]*)</t>)")
_T_OPEN = re.compile(rb"<t[\s/>]")
_RPH = re.compile(rb"<rPh(?:\s[^<>]*)?>.*?</rPh>|<rPh(?:\s[^<>]*)?/>", re.S)
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.\-]*:")
_CELL_TAG = re.compile(rb'<c r="[A-Z]{1,3}[1-9][0-9]{0,6}"((?:\s+[A-Za-z_][\w.:\-]*="[^"<>&]*")*)\s*(/?)>')
_CELL_START = re.compile(rb"<c[\s/>]")
#: In one pass: every cell tag's address, or "" for a cell tag not beginning ``<c r="A1"`` and
#: for a prefixed element (the group does not take part).
_CELLS_AND_PREFIXES = re.compile(rb'<(?:c(?=[\s/>])(?: r="([A-Z]{1,3}[1-9][0-9]{0,6})")?|[A-Za-z_][\w.\-]*:)')
_TYPE = re.compile(rb'\st="([^"]*)"')
_R_AGAIN = re.compile(rb"\sr\s*=")
_PLAIN_INNER = re.compile(rb"\s*(?:(<f(?:\s[^<>]*)?(?:/>|>([^<]*)</f>))\s*)?(?:<v>([^<]*)</v>\s*)?")
_INLINE_INNER = re.compile(rb"\s*(?:<f(?:\s[^<>]*)?(?:/>|>[^<]*</f>)\s*)?<is>(.*)</is>\s*", re.S)
_NUMBER = re.compile(rb"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_ITEM = re.compile(rb"<si>([^<]*(?:<(?!/si>)[^<]*)*)</si>")
_UNIQUE = re.compile(rb'uniqueCount="([0-9]+)"')
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]{1,8}|#[0-9]{1,10}|lt|gt|amp|quot|apos);")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class NotPlain(Exception):
    """The XML is not in the plain form read here; read it with the full parser."""


def legal_xml_char(code: int) -> bool:
    """Whether ``code`` is a character XML 1.0 allows (a character reference to anything else
    makes the document not well-formed)."""
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


_CHAR_REF = re.compile(rb"&#(x[0-9A-Fa-f]{1,8}|[0-9]{1,10});")


def _illegal_ref(m: re.Match) -> bytes:
    ref = m[1]
    code = int(ref[1:], 16) if ref[:1] == b"x" else int(ref)
    if legal_xml_char(code):
        return m[0]
    return b"_x%04X_" % code if code <= 0xFFFF else b"_xFFFD_"


def escape_illegal_refs(xml: bytes) -> bytes:
    """Character references to characters XML forbids (``&#xD800;``, ``&#1;``) rewritten as Excel's
    ``_xHHHH_`` escape of the same character, so that the part stays XML and the cell's text keeps
    a mark of it: a lone surrogate then becomes U+FFFD with a finding, a control character is
    stripped (:mod:`qc_batch.read.screen`)."""
    if b"&" not in xml or b"&#" not in xml:  # one byte is found at memchr speed, two many times slower
        return xml
    return _CHAR_REF.sub(_illegal_ref, xml)


def _entity(m: re.Match) -> str:
    e = m[1]
    if e[0] == "#":
        code = int(e[2:], 16) if e[1] in "xX" else int(e[1:])
        if not legal_xml_char(code):
            raise NotPlain  # not well-formed: the full parser says so
        return chr(code)
    return _NAMED[e]


def decode_text(raw: bytes) -> str:
    if b"\r" in raw:
        raise NotPlain  # a parser reads a literal CR (CR LF) as LF: left to the full parser
    text = raw.decode("utf-8")
    if "&" in text:
        stripped = _ENTITY.sub(_entity, text)
        if "&" in _ENTITY.sub("", text):
            raise NotPlain  # an undeclared entity or a stray "&": not well-formed
        text = stripped
    return text


def unescape_ooxml(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes decoded (``_x005F_`` is an escaped underscore)."""
    if "_x" in text:
        text = _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    return text


def rich_text(raw: bytes) -> str:
    """The text of a ``<si>`` or ``<is>``: its ``<t>`` runs, without phonetic runs,
    with Excel's ``_xHHHH_`` escapes decoded, cut to Excel's cell limit."""
    if b"<rPh" in raw:
        raw = _RPH.sub(b"", raw)
        if b"<rPh" in raw:
            raise NotPlain
    runs = _T.findall(raw)
    if len(runs) != len(_T_OPEN.findall(raw)):
        raise NotPlain  # a <t> that does not close the plain way
    text = "".join(decode_text(t) for t in runs)
    return unescape_ooxml(text)[:MAX_CELL_CHARS]


class _Refused(Exception):
    pass


def _refuse(*_args) -> None:
    raise _Refused


def well_formed(xml: bytes) -> None:
    """Raise :class:`NotPlain` unless ``xml`` is well-formed XML with no DTD, comment, CDATA
    section or processing instruction anywhere (the XML declaration is not one).

    One expat pass at C speed: the handlers below are only called when such a thing is
    present, and refuse it there (no DTD is read, so no entity can be declared or expanded).
    Expat also refuses every raw control character XML forbids, in any context and any
    declared encoding, so no separate scan for them is needed."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.CommentHandler = _refuse
    parser.StartCdataSectionHandler = _refuse
    parser.ProcessingInstructionHandler = _refuse
    try:
        parser.Parse(xml, True)
    except (expat.ExpatError, _Refused):
        raise NotPlain from None


def _check_part(xml: bytes, root: bytes) -> int:
    """Common checks of a plain part; returns where the root element's tag ends."""
    decl_end = xml.find(b"?>") + 2 if xml.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")) else 0
    well_formed(xml)  # as Excel requires; and no DTD, comment, CDATA or processing instruction
    start = xml.find(b"<" + root, decl_end)
    if start < 0 or xml[decl_end:start].strip() or xml[start + len(root) + 1:start + len(root) + 2] not in b" \t\r\n>":
        raise NotPlain
    end = xml.find(b">", start)
    tag = xml[start:end]
    if xml.count(MAIN_NS) != 1 or (b'xmlns="' + MAIN_NS + b'"') not in tag:
        raise NotPlain  # the main namespace is not (only) the root's default
    return end


def check_plain(xml: bytes) -> tuple[int, int]:
    """The byte range of ``<sheetData>``'s content, if the sheet is plain; else :class:`NotPlain`."""
    root_end = _check_part(xml, b"worksheet")
    at = xml.find(b"<sheetData", root_end)
    if at < 0 or xml.count(b"<sheetData") != 1 or b"xmlns" in xml[root_end:at]:
        raise NotPlain
    open_end = xml.find(b">", at)
    if xml[open_end - 1] == 0x2F:  # <sheetData/>: no cells
        return open_end, open_end
    close = xml.find(b"</sheetData>", open_end)
    if close < 0:
        raise NotPlain
    data = xml[open_end:close]
    if b"xmlns" in data:
        raise NotPlain
    addresses = _CELLS_AND_PREFIXES.findall(data)
    if b"" in addresses:
        raise NotPlain  # a prefixed element, or a cell tag without a valid address first
    if len(set(addresses)) != len(addresses):
        raise NotPlain  # a cell written twice: the full parser decides
    return open_end + 1, close


class SharedStrings:
    """``xl/sharedStrings.xml``, decoded on demand."""

    def __init__(self, xml: bytes):
        _check_part(xml, b"sst")
        if b"xmlns" in xml[xml.find(b">", xml.find(b"<sst")):] or _PREFIXED.search(xml):
            raise NotPlain
        if b"<si/>" in xml:
            raise NotPlain  # empty items: rare, left to the full parser
        n = xml.count(b"</si>")
        if xml.count(b"<si") != n:
            raise NotPlain
        # Every item closes with "</si>" and nothing else begins "<si": each match below runs from
        # an item's "<si>" to its own "</si>", once (linear), and any other spelling is one too few.
        items = _ITEM.findall(xml)
        if len(items) != n:
            raise NotPlain
        unique = _UNIQUE.search(xml, 0, 2000)
        if unique is not None and int(unique[1]) != len(items):
            raise NotPlain  # a count the file gets wrong
        self._raw = items
        self._text: dict[int, str] = {}

    def __getitem__(self, k: int) -> str:
        if k not in self._text:
            if not 0 <= k < len(self._raw):
                raise NotPlain
            self._text[k] = rich_text(self._raw[k])
        return self._text[k]


def locate(xml: bytes, address: str, start: int = 0, stop: int | None = None) -> int:
    """Where the tag of the cell at ``address`` begins (-1: not in the XML), between ``start``
    and ``stop``. Only meaningful in a range that :func:`check_plain` accepted (every ``<c`` there
    is a cell tag beginning with its address, and no address is written twice)."""
    return xml.find(b'<c r="' + address.encode() + b'"', start, len(xml) if stop is None else stop)


def cell_values(xml: bytes, cells: Iterable[tuple[str, int, int, str]], strings: SharedStrings | None
                ) -> tuple[dict[str, Any], dict[str, tuple[str, Any]]]:
    """Values of ``cells`` (key, row, col, address) on one sheet, and the keys holding a formula
    (key -> (formula text, cached value)).

    A cell not in the XML is blank (None). Raises :class:`NotPlain` for anything not plain.
    """
    begin, stop = check_plain(xml)
    values: dict[str, Any] = {}
    formulas: dict[str, tuple[str, Any]] = {}
    pos = begin
    for key, _row, _col, address in cells:  # in document order: the sheet is scanned about once
        at = locate(xml, address, pos, stop)
        if at < 0 and pos > begin:
            at = locate(xml, address, begin, pos + len(address) + 8)
        if at < 0:
            values[key] = None
            continue
        pos = at
        tag = _CELL_TAG.match(xml, at)
        if tag is None:
            raise NotPlain
        attrs = tag[1]
        if tag[2]:  # "/>": an empty cell
            values[key] = None
            continue
        end = tag.end()
        close = xml.find(b"</c>", end, stop)
        if close < 0:
            raise NotPlain
        inner = xml[end:close]
        if _CELL_START.search(inner):
            raise NotPlain  # the cell does not close the plain way
        kind = _KINDS.get(attrs)
        if kind is None:
            kind = _kind(attrs)
        value, formula = _value(kind, inner, strings)
        values[key] = value
        if formula is not None:
            formulas[key] = (formula, value)
    return values, formulas


#: A cell's attributes (after its address) -> its type. A workbook repeats a few dozen
#: spellings (style and type) in hundreds of cells; bounded, as the spellings come from outside.
_KINDS: dict[bytes, bytes] = {}


def _kind(attrs: bytes) -> bytes:
    kinds = _TYPE.findall(attrs)
    if len(kinds) > 1 or (not kinds and b"t=" in attrs) or _R_AGAIN.search(attrs):
        raise NotPlain
    kind = kinds[0] if kinds else b"n"
    if len(_KINDS) < 4096:
        _KINDS[attrs] = kind
    return kind


def _value(kind: bytes, inner: bytes, strings: SharedStrings | None) -> tuple[Any, str | None]:
    """The value of a cell's content and its formula text (None: no formula)."""
    if kind == b"inlineStr":
        m = _INLINE_INNER.fullmatch(inner)
        if m is None:
            if _PLAIN_INNER.fullmatch(inner) is not None and b"<v>" not in inner:
                return None, _formula(inner)
            raise NotPlain
        return rich_text(m[1]), _formula(inner)
    m = _PLAIN_INNER.fullmatch(inner)
    if m is None:
        raise NotPlain
    formula = None if m[1] is None else decode_text(m[2] or b"")
    v = m[3]
    if v is None:
        return None, formula
    if kind == b"n":
        if not v.strip():
            return None, formula
        if len(v) > 400:
            return math.inf, formula  # as the full parser (sheet_full.MAX_NUMBER_TEXT): refused by the readers
        if _NUMBER.fullmatch(v) is None:
            raise NotPlain
        return float(v), formula
    if kind == b"s":
        if strings is None or not v.isdigit() or len(v) > 9:
            raise NotPlain
        return strings[int(v)], formula
    if kind == b"b":
        if v not in (b"0", b"1"):
            raise NotPlain
        return v == b"1", formula
    if kind == b"e":
        return None, formula  # an error value (#DIV/0! ...) reads as blank
    if kind in (b"str", b"d"):
        return decode_text(v)[:MAX_CELL_CHARS], formula
    raise NotPlain


def _formula(inner: bytes) -> str | None:
    m = _PLAIN_INNER.match(inner)
    return None if m is None or m[1] is None else decode_text(m[2] or b"")

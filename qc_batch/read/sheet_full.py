"""Read named cells from any well-formed worksheet XML, with a full streaming parse.

The fallback of :mod:`qc_batch.read.sheet_xml` (which reads only plain XML): expat,
with namespaces resolved, parses the whole part, so comments, processing
instructions, CDATA, prefixes, any spacing and attribute order, character and
entity references are read as XML means them. A DTD is refused (no entity can be
declared); anything not well-formed is refused. Only the main namespace's
``worksheet/sheetData/row/c`` cells are read (what Excel shows), only the wanted
cells' contents are kept (text cut to Excel's cell limit), and no grid is ever
sized from a declared dimension or an address: memory stays proportional to the
part, which the zip checks bound. A cell address out of Excel's grid, a wanted
cell written twice, or a cell content Excel would not load refuses the part.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from xml.parsers import expat

from qc_batch import codes
from qc_batch.read.cells import MAX_CELL_CHARS
from qc_batch.read.sheet_xml import unescape_ooxml

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MAX_ROWS = 1_048_576
MAX_COLS = 16_384
MAX_FORMULA_CHARS = 8192
#: A number cell's text longer than this reads as infinity, refused by the readers (both readers).
MAX_NUMBER_TEXT = 400
_ADDRESS = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


class PartError(Exception):
    """The part cannot be read: ``code`` is a file reason code, ``detail`` Chinese."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class _Dtd(Exception):
    pass


def _refuse(*_args) -> None:
    raise _Dtd


def _parser() -> Any:
    p = expat.ParserCreate(namespace_separator=" ")
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse
    p.ExternalEntityRefHandler = _refuse
    p.buffer_text = True
    return p


def _run(p: Any, data: bytes, what: str) -> None:
    try:
        p.Parse(data, True)
    except _Dtd:
        raise PartError(codes.FILE_UNSAFE_XML.code, f"{what} 含有 DTD/实体声明") from None
    except expat.ExpatError as err:
        raise PartError(codes.FILE_CORRUPT.code, f"{what} 不是格式正确的 XML（第 {err.lineno} 行）") from None


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _split(tag: str) -> str | None:
    """The local name of a main-namespace element, else None."""
    ns, _, local = tag.rpartition(" ")
    return local if ns == MAIN else None


class _Cell:
    __slots__ = ("address", "f", "has_f", "has_is", "is_", "keys", "kind", "v")

    def __init__(self, keys: list[str], kind: str, address: str):
        self.keys, self.kind, self.address = keys, kind, address
        self.v: list[str] | None = None
        self.f: list[str] = []
        self.is_: list[str] = []
        self.has_f = self.has_is = False


def _append(buf: list[str], text: str, limit: int) -> None:
    if sum(map(len, buf)) <= limit:
        buf.append(text)


def cell_values(xml: bytes, cells: Iterable[tuple[str, int, int, str]], strings: list[str] | None,
                sheet: str = "") -> tuple[dict[str, Any], dict[str, tuple[str, Any]]]:
    """Values of ``cells`` (key, row, col, address; 0-based) and the keys holding a formula
    (key -> (formula, cached value)), as :func:`qc_batch.read.sheet_xml.cell_values` gives them."""
    wanted: dict[tuple[int, int], list[str]] = {}
    for key, row, col, _address in cells:
        wanted.setdefault((row + 1, col + 1), []).append(key)
    what = f"工作表“{sheet}”" if sheet else "工作表"
    found: dict[tuple[int, int], _Cell] = {}
    path: list[str | None] = []
    state = {"row": 0, "col": 0}
    cur: list[_Cell | None] = [None]
    text_target: list[list[str] | None] = [None]
    limit = [MAX_CELL_CHARS]

    def bad(detail: str) -> PartError:
        return PartError(codes.FILE_CORRUPT.code, f"{what}{detail}")

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = _split(tag)
        path.append(local)
        depth = len(path)
        if depth == 3 and path[:2] == ["worksheet", "sheetData"] and local == "row":
            r = attrs.get("r")
            if r is None:
                state["row"] += 1
            elif not r.isdigit() or not 1 <= int(r) <= MAX_ROWS:
                raise bad(f"的行号“{r[:20]}”超出 Excel 的范围")
            else:
                state["row"] = int(r)
            state["col"] = 0
        elif depth == 4 and local == "c" and path[:3] == ["worksheet", "sheetData", "row"]:
            r = attrs.get("r")
            if r is None:
                row, col = state["row"], state["col"] + 1
            else:
                m = _ADDRESS.fullmatch(r)
                if m is None or col_number(m[1]) > MAX_COLS or int(m[2]) > MAX_ROWS:
                    raise bad(f"中的单元格地址“{r[:20]}”无效或超出 Excel 的范围（最大 XFD1048576）")
                row, col = int(m[2]), col_number(m[1])
            if not 1 <= row <= MAX_ROWS or col > MAX_COLS:
                raise bad("中的单元格超出 Excel 的范围")
            state["row"], state["col"] = row, col
            keys = wanted.get((row, col))
            if keys is not None:
                if (row, col) in found:
                    raise bad(f"中单元格 {r or (row, col)} 出现了两次，无法确定其内容")
                cur[0] = found[(row, col)] = _Cell(keys, attrs.get("t", "n"), r or "")
        elif cur[0] is not None and depth >= 5:
            cell = cur[0]
            if depth == 5 and local == "v":
                cell.v = []
                text_target[0], limit[0] = cell.v, MAX_CELL_CHARS
            elif depth == 5 and local == "f":
                cell.has_f = True
                text_target[0], limit[0] = cell.f, MAX_FORMULA_CHARS
            elif depth == 5 and local == "is":
                cell.has_is = True
            elif local == "t" and path[4] == "is" and (depth == 6 or (depth == 7 and path[5] == "r")):
                text_target[0], limit[0] = cell.is_, MAX_CELL_CHARS

    def end(_tag: str) -> None:
        depth = len(path)
        path.pop()
        if depth == 4:
            cur[0] = None
        if depth >= 5:
            text_target[0] = None

    def chars(data: str) -> None:
        if text_target[0] is not None:
            _append(text_target[0], data, limit[0])

    p = _parser()
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    _run(p, xml, what)
    if path:
        raise bad("不完整")
    values: dict[str, Any] = {}
    formulas: dict[str, tuple[str, Any]] = {}
    for (_row, _col), keys in wanted.items():
        cell = found.get((_row, _col))
        value = None if cell is None else _value(cell, strings, bad)
        for key in keys:
            values[key] = value
            if cell is not None and cell.has_f:
                formulas[key] = ("".join(cell.f)[:MAX_FORMULA_CHARS], value)
    return values, formulas


def _value(cell: _Cell, strings: list[str] | None, bad) -> Any:
    kind = cell.kind
    where = f"的单元格 {cell.address}" if cell.address else "中的一个单元格"
    if kind == "inlineStr":
        return unescape_ooxml("".join(cell.is_))[:MAX_CELL_CHARS] if cell.has_is else None
    if cell.v is None:
        return None
    v = "".join(cell.v)
    if kind == "n":
        if not v.strip():
            return None
        if len(v) > MAX_NUMBER_TEXT:
            return math.inf  # no number anyone typed: the readers refuse it (as the fast reader does)
        if _NUMBER.fullmatch(v) is None:
            raise bad(f"{where}是数值单元格，但内容不是数值")
        return float(v)
    if kind == "s":
        v = v.strip()
        if strings is None or not v.isdigit() or len(v) > 9 or int(v) >= len(strings):
            raise bad(f"{where}引用的共享文本不存在")
        return strings[int(v)]
    if kind == "b":
        if v.strip() not in ("0", "1"):
            raise bad(f"{where}是逻辑值单元格，但内容不是 0 或 1")
        return v.strip() == "1"
    if kind == "e":
        return None
    if kind in ("str", "d"):
        return v[:MAX_CELL_CHARS]
    raise bad(f"{where}的类型“{kind[:20]}”无法识别")


def shared_strings(xml: bytes) -> list[str]:
    """Every item of ``xl/sharedStrings.xml``: its ``<t>`` runs (phonetic runs left out)."""
    items: list[str] = []
    path: list[str | None] = []
    buf: list[list[str] | None] = [None]
    cur: list[str] = []

    def start(tag: str, _attrs: dict[str, str]) -> None:
        local = _split(tag)
        path.append(local)
        depth = len(path)
        if depth == 2 and path[0] == "sst" and local == "si":
            cur.clear()
        elif local == "t" and len(path) >= 3 and path[:2] == ["sst", "si"] and (
                depth == 3 or (depth == 4 and path[2] == "r")):
            buf[0] = cur

    def end(_tag: str) -> None:
        depth = len(path)
        if depth == 2 and path == ["sst", "si"]:
            items.append(unescape_ooxml("".join(cur))[:MAX_CELL_CHARS])
        path.pop()
        buf[0] = None

    def chars(data: str) -> None:
        if buf[0] is not None:
            _append(buf[0], data, MAX_CELL_CHARS)

    p = _parser()
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    _run(p, xml, "共享文本（xl/sharedStrings.xml）")
    return items

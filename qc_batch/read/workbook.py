"""Read one submitted workbook safely: every named cell's raw value.

Workbooks come from outside the bureau. Before anything parses them:
the file size, the zip's entry count and the total decompressed size are
bounded (zip bombs), members Excel would refuse (the same name twice, compression
other than deflate) refuse the file, and every XML part goes through a streaming
expat parse that refuses any DTD, so no entity can be declared, expanded or fetched
(the check defusedxml's ``forbid_dtd`` makes, without building a tree). Cell values
are read by the fast reader for plain XML (:mod:`qc_batch.read.sheet_xml`) or the
full parser (:mod:`qc_batch.read.sheet_full`); neither sizes a grid from a declared
dimension or an address. Nothing from a workbook is ever executed; cached formula
results are not trusted (ingest scores from the inputs only). The threat model and
every bound: ``docs/security.md``.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from qc_batch import codes
from qc_batch.read import sheet_full, sheet_xml, workbook_xml

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
MAX_UNCOMPRESSED = 150 * 1024 * 1024
MAX_RATIO = 250  # decompressed / compressed, per large entry

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!'\s]+))!\$?([A-Z]{1,3})\$?([1-9]\d{0,6})$")
#: Excel's grid: a name referring beyond it refers to no cell.
MAX_ROWS, MAX_COLS = sheet_full.MAX_ROWS, sheet_full.MAX_COLS
#: Zip compression methods Excel reads: stored and deflate.
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


class WorkbookError(Exception):
    """This file cannot be read as a score sheet; ``code`` is stable, ``message`` Chinese."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CellRef:
    sheet: str
    row: int  # 0-based
    col: int  # 0-based

    @functools.cached_property
    def address(self) -> str:
        return f"{col_letters(self.col)}{self.row + 1}"

    @functools.cached_property
    def text(self) -> str:
        return f"{self.sheet}!{self.address}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class RawWorkbook:
    """What one workbook holds: named cells' raw values and where they are."""

    values: Mapping[str, Any]
    refs: Mapping[str, CellRef]
    formula_cells: frozenset[str] = field(default_factory=frozenset)  # "sheet!A1" holding a formula
    sheets: tuple[str, ...] = ()
    #: other named cells holding a formula (inputs where a value is expected): name -> (formula, cached value)
    formulas: Mapping[str, tuple[str, Any]] = field(default_factory=dict)

    def has_formula(self, name: str) -> bool:
        ref = self.refs.get(name)
        return ref is not None and str(ref) in self.formula_cells


def col_letters(col: int) -> str:
    s = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise WorkbookError(codes.FILE_TOO_LARGE.code,
                            f"文件过大（{size // 1024 // 1024} MB），评分表正常不超过 1 MB，已拒绝")


def _encrypted_ooxml(data: bytes) -> bool:
    """Whether an OLE file is an encrypted xlsx (its streams EncryptionInfo/EncryptedPackage),
    rather than a real .xls (stream Workbook/Book) renamed."""
    return "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data


def sniff(data: bytes, suffix: str) -> None:
    """Refuse what is not an xlsx, with advice on how to save it. ``data`` is the file's content
    (or at least its first 8 bytes)."""
    head = data[:8]
    if head.startswith(OLE_MAGIC):
        if suffix in (".xlsx", ".xlsm") and (len(data) <= 8 or _encrypted_ooxml(data)):
            raise WorkbookError(codes.FILE_ENCRYPTED.code, "工作簿设置了打开密码（已加密），无法读取；"
                                "请在 Excel/WPS 中取消密码（文件→信息→保护工作簿→用密码进行加密，清空密码）"
                                "后重新保存为 .xlsx")
        kind = {".xls": "Excel 97-2003 工作簿（.xls）", ".et": "WPS 表格文件（.et）"}.get(suffix, "旧版 Office 文件")
        raise WorkbookError(codes.FILE_OLD_FORMAT.code, codes.FILE_OLD_FORMAT.message(kind=kind))
    if not head.startswith(ZIP_MAGIC):
        if suffix == ".csv" or suffix == ".txt":
            why = "这是文本文件（CSV），丢失了评分表的结构"
        elif suffix in (".docx", ".doc", ".pdf", ".wps"):
            why = "这是文档文件，不是评分表工作簿"
        elif not head:
            why = "文件是空的（0 字节）"
        else:
            why = "文件不是 .xlsx 工作簿（内容无法识别）"
        raise WorkbookError(codes.FILE_NOT_XLSX.code, codes.FILE_NOT_XLSX.message(why=why))


def _check_zip(zf: zipfile.ZipFile) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise WorkbookError(codes.FILE_TOO_LARGE.code, f"工作簿内部条目过多（{len(infos)} 个），疑似异常文件，已拒绝")
    if len(zf.NameToInfo) != len(infos):
        raise WorkbookError(codes.FILE_CORRUPT.code, "工作簿的压缩包中有重名的条目（Excel 无法打开这样的文件），"
                            "疑似被改动过；请在 Excel/WPS 中重新保存后再报送")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise WorkbookError(codes.FILE_ENCRYPTED.code, "工作簿内容已加密，无法读取；请取消密码后重新保存为 .xlsx")
        if info.compress_type not in ZIP_METHODS:
            raise WorkbookError(codes.FILE_CORRUPT.code, f"工作簿中的条目使用了 Excel 不支持的压缩方式"
                                f"（{info.compress_type} 号），Excel 无法打开；请在 Excel/WPS 中重新保存后再报送")
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(codes.FILE_ZIP_BOMB.code, codes.FILE_ZIP_BOMB.message())
    if total > MAX_UNCOMPRESSED:
        raise WorkbookError(codes.FILE_TOO_LARGE.code, f"工作簿解压后过大（{total // 1024 // 1024} MB），已拒绝；"
                            "评分表正常大小不超过 1 MB，请勿在其中插入图片或大量数据")


def _read_member(zf: zipfile.ZipFile, name: str, limit: int = 20 * 1024 * 1024) -> bytes:
    try:
        with zf.open(name) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError):
        raise WorkbookError(codes.FILE_CORRUPT.code, f"工作簿中的 {name} 已损坏，无法读取；请重新保存后再报送") from None
    if len(data) > limit:
        raise WorkbookError(codes.FILE_TOO_LARGE.code, f"工作簿中的 {name} 过大，已拒绝")
    return data


def _xml_part(zf: zipfile.ZipFile, name: str) -> bytes:
    """A worksheet or the shared strings, character references XML forbids escaped the Excel way."""
    return sheet_xml.escape_illegal_refs(_read_member(zf, name))


class _Unsafe(Exception):
    pass


def _refuse(*_args) -> None:
    raise _Unsafe


def _elements(data: bytes, what: str, tags: frozenset[str]) -> list[tuple[str, dict[str, str], str]]:
    """The elements named in ``tags`` (``{namespace}name``) with their attributes and text.

    A streaming expat parse that refuses any DTD, as defusedxml's ``forbid_dtd``
    does: without a DTD no entity can be declared, expanded or fetched.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.buffer_text = True
    found: list[tuple[str, dict[str, str], str]] = []
    text: list[str] = []
    open_tag: list[str | None] = [None]

    def start(tag: str, attrs: dict[str, str]) -> None:
        tag = "{" + tag if "}" in tag else tag
        if tag in tags:
            open_tag[0] = tag
            text.clear()
            found.append((tag, {("{" + k if "}" in k else k): v for k, v in attrs.items()}, ""))

    def end(tag: str) -> None:
        if open_tag[0] is not None:
            t, attrs, _ = found[-1]
            found[-1] = (t, attrs, "".join(text))
            open_tag[0] = None

    def chars(data: str) -> None:
        if open_tag[0] is not None:
            text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except _Unsafe:
        raise WorkbookError(codes.FILE_UNSAFE_XML.code, codes.FILE_UNSAFE_XML.message(part=what)) from None
    except expat.ExpatError:
        raise WorkbookError(codes.FILE_CORRUPT.code, f"工作簿的 {what} 已损坏，无法读取；请重新保存后报送") from None
    return found


_SHEET_TAG = f"{NS_MAIN}sheet"
_REL_ID = f"{NS_REL}id"
_WORKBOOK_TAGS = frozenset({_SHEET_TAG, f"{NS_MAIN}definedName"})
_REL_TAGS = frozenset({f"{NS_PKG_REL}Relationship"})


def workbook_elements(wb_xml: bytes, plain: bool = True) -> list[tuple[str, dict[str, str], str]]:
    """The ``<sheet>`` and ``<definedName>`` elements of ``xl/workbook.xml`` (tag, attributes, text),
    read from the bytes when the part is plain (:mod:`qc_batch.read.workbook_xml`), otherwise (or
    with ``plain=False``) by the streaming parse that refuses any DTD."""
    if plain:
        try:
            return workbook_xml.plain_elements(wb_xml)
        except (sheet_xml.NotPlain, UnicodeDecodeError, ValueError):
            pass
    return _elements(wb_xml, "xl/workbook.xml", _WORKBOOK_TAGS)


def _workbook_parts(zf: zipfile.ZipFile, plain: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """Sheet name -> part path, and workbook-scoped defined name -> reference text."""
    try:
        wb_xml = _read_member(zf, "xl/workbook.xml")
    except KeyError:
        raise WorkbookError(codes.FILE_NOT_WORKBOOK.code, codes.FILE_NOT_WORKBOOK.message()) from None
    elements = workbook_elements(wb_xml, plain)
    rels: dict[str, str] = {}
    try:
        rel_xml = _read_member(zf, "xl/_rels/workbook.xml.rels")
    except KeyError:
        rel_xml = None
    if rel_xml is not None:
        for _tag, attrs, _text in _elements(rel_xml, "工作簿关系表", _REL_TAGS):
            target = attrs.get("Target", "").lstrip("/")
            if not target.startswith("xl/"):
                target = "xl/" + target
            rels[attrs.get("Id", "")] = target
    sheets: dict[str, str] = {}
    names: dict[str, str] = {}
    seen: set[str] = set()
    for tag, attrs, text in elements:  # some 500 names: the loop's constants are built once
        if tag == _SHEET_TAG:
            sheets[attrs.get("name", "")] = rels.get(attrs.get(_REL_ID, ""), "")
        elif "localSheetId" not in attrs:  # sheet-scoped names (print titles etc.) are not ours
            name = attrs.get("name", "")
            folded = name.casefold()
            if folded in seen:  # Excel refuses a workbook that defines a name twice
                raise WorkbookError(codes.FILE_CORRUPT.code, f"工作簿中名称“{name[:40]}”定义了两次"
                                    "（Excel 无法打开这样的文件），疑似被改动过；请在 Excel/WPS 中重新保存后再报送")
            seen.add(folded)
            names[name] = text.strip()
    return sheets, names


@functools.lru_cache(maxsize=8192)
def parse_ref(text: str) -> CellRef | None:
    """``'评分表'!$H$5`` -> CellRef; None for anything that is not one cell.

    (Cached: every workbook of a template names the same cells.)"""
    text = text.lstrip("=")
    m = _REF.match(text)
    if not m:
        return None
    sheet = (m.group(1) or "").replace("''", "'") if m.group(1) is not None else m.group(2)
    row, col = int(m.group(4)) - 1, col_index(m.group(3))
    if row >= MAX_ROWS or col >= MAX_COLS:
        return None
    return CellRef(sheet, row, col)


def read_workbook(path: str | Path, wanted: Mapping[str, Any] | None = None,
                  formula_names: tuple[str, ...] = (), *, data: bytes | None = None, plain: bool = True
                  ) -> RawWorkbook:
    """Read the raw values of the workbook's defined names.

    ``wanted`` limits the names read (name -> anything); ``formula_names``
    are names whose cells should hold formulas (:attr:`RawWorkbook.formula_cells`);
    every other named cell found holding a formula is in :attr:`RawWorkbook.formulas`.
    ``data`` is the file's content when the caller has read it already (the file is
    then read only once). The cells are read from the sheets' XML by the fast reader
    when it is plain (:mod:`qc_batch.read.sheet_xml`), otherwise (or with ``plain=False``)
    by the full parser (:mod:`qc_batch.read.sheet_full`). Raises :class:`WorkbookError`
    when the file cannot be read.
    """
    path = Path(path)
    if data is None:
        check_size(path.stat().st_size)
        data = path.read_bytes()
    check_size(len(data))
    sniff(data, path.suffix.lower())
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise WorkbookError(codes.FILE_CORRUPT.code,
                            "文件已损坏或不完整（可能传输中断），无法打开；请重新保存后再报送") from None
    with zf:
        _check_zip(zf)
        sheets, names = _workbook_parts(zf, plain)
        refs: dict[str, CellRef] = {}
        for name, text in names.items():
            if wanted is not None and name not in wanted:
                continue
            ref = parse_ref(text)
            if ref is not None:
                refs[name] = ref
        by_sheet: dict[str, list[tuple[str, int, int, str]]] = {}
        for name, ref in sorted(refs.items(), key=lambda kv: (kv[1].row, kv[1].col)):
            if ref.sheet in sheets:
                by_sheet.setdefault(ref.sheet, []).append((name, ref.row, ref.col, ref.address))
        got = _plain_values(zf, sheets, by_sheet) if plain else None
        if got is None:
            got = _full_values(zf, sheets, by_sheet)
    values, formulas = got
    wanted_formulas = set(formula_names)
    formula_cells = frozenset(refs[n].text for n in formulas if n in wanted_formulas)
    others = {n: f for n, f in formulas.items() if n not in wanted_formulas}
    return RawWorkbook(values, refs, formula_cells, tuple(sheets), others)


Read = tuple[dict[str, Any], dict[str, tuple[str, Any]]]


def _plain_values(zf: zipfile.ZipFile, sheets: Mapping[str, str],
                  by_sheet: Mapping[str, list[tuple[str, int, int, str]]]) -> Read | None:
    """The named cells' values and formulas read by the fast reader, or None (not plain)."""
    try:
        strings = None
        if "xl/sharedStrings.xml" in zf.NameToInfo:
            strings = sheet_xml.SharedStrings(_xml_part(zf, "xl/sharedStrings.xml"))
        values: dict[str, Any] = {}
        formulas: dict[str, tuple[str, Any]] = {}
        for sheet, cells in by_sheet.items():
            try:
                xml = _xml_part(zf, sheets[sheet])
            except KeyError:
                return None
            got, f = sheet_xml.cell_values(xml, cells, strings)
            values.update((k, None if v == "" else v) for k, v in got.items())
            formulas.update(f)
    except (sheet_xml.NotPlain, UnicodeDecodeError, ValueError):
        return None
    return values, formulas


def _full_values(zf: zipfile.ZipFile, sheets: Mapping[str, str],
                 by_sheet: Mapping[str, list[tuple[str, int, int, str]]]) -> Read:
    """The named cells' values and formulas read by the full parser."""
    strings = None
    try:
        if "xl/sharedStrings.xml" in zf.NameToInfo:
            strings = sheet_full.shared_strings(_xml_part(zf, "xl/sharedStrings.xml"))
        values: dict[str, Any] = {}
        formulas: dict[str, tuple[str, Any]] = {}
        for sheet, cells in by_sheet.items():
            try:
                xml = _xml_part(zf, sheets[sheet])
            except KeyError:
                raise WorkbookError(codes.FILE_CORRUPT.code, f"工作表“{sheet}”的内容在工作簿中找不到，文件已损坏；"
                                    "请重新保存后再报送") from None
            got, f = sheet_full.cell_values(xml, cells, strings, sheet)
            values.update((k, None if v == "" else v) for k, v in got.items())
            formulas.update(f)
    except sheet_full.PartError as err:
        if err.code == codes.FILE_UNSAFE_XML.code:
            raise WorkbookError(err.code, f"工作簿的{err.detail}，属于不安全的 XML 结构，已拒绝读取") from None
        raise WorkbookError(err.code, f"文件内容已损坏：{err.detail}；请在 Excel/WPS 中重新保存后再报送") from None
    return values, formulas

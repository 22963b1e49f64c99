"""Hostile workbooks, made from the committed sample workbooks (docs/security.md).

Each builder copies a good workbook and changes its XML the way an attacker (or a
broken tool) could: the changed file is still a zip of XML parts. ``HOSTILE`` lists
every class with the outcome the batch must give (a file reason code, or the finding
code an accepted workbook must carry).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from qc_batch.batch.ingest import _names, formula_names
from qc_batch.read import workbook as wr
from qc_batch.rubric.model import load_rubric

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "input" / "示例数据_长沙市_2026.xlsx"     # a 市州 sample, 合格
BASE_UNIT = "长沙市"
RUBRIC = load_rubric()
WANTED = _names()[1]
FORMULAS = formula_names(RUBRIC)
NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def refs(src: Path = BASE) -> dict[str, wr.CellRef]:
    return dict(wr.read_workbook(src, WANTED, FORMULAS).refs)


def sheet_part(src: Path, sheet: str) -> str:
    """The zip member of the sheet named ``sheet``."""
    with zipfile.ZipFile(src) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<sheet name="' + re.escape(sheet) + r'"[^>]*r:id="([^"]+)"', book)[1]
    target = re.search(r'Id="' + rid + r'"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="' + rid + '"', rels)
    t = (target[1] or target[2]).lstrip("/")
    return t if t.startswith("xl/") else "xl/" + t


def rewrite(src: Path, dst: Path, changes: dict[str, Callable[[bytes], bytes]],
            extra: dict[str, bytes] | None = None, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """Copy an xlsx, passing members through ``changes``; ``extra`` members are added at the end."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", method) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in changes:
                data = changes[info.filename](data)
            zout.writestr(info.filename, data, compress_type=method)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def cell_pattern(address: str) -> re.Pattern[bytes]:
    return re.compile(rb'<c r="' + address.encode() + rb'"(?:\s[^>]*?)?(?:/>|>.*?</c>)', re.S)


def set_cells(src: Path, dst: Path, cells: dict[str, bytes], before: dict[str, bytes] | None = None,
              extra_change: Callable[[bytes], bytes] | None = None) -> Path:
    """Replace the named cells' XML (``<c ...>...</c>``, with ``{r}`` for the address); ``before``:
    XML inserted just before a named cell's row."""
    r = refs(src)
    by_part: dict[str, list[tuple[str, bytes, bool]]] = {}
    for name, xml in cells.items():
        by_part.setdefault(sheet_part(src, r[name].sheet), []).append((r[name].address, xml, False))
    for name, xml in (before or {}).items():
        by_part.setdefault(sheet_part(src, r[name].sheet), []).append((r[name].address, xml, True))

    def change_for(items):
        def change(data: bytes) -> bytes:
            for address, xml, is_before in items:
                if is_before:
                    row = re.search(rb'<row r="' + re.sub(rb"[A-Z]", b"", address.encode()) + rb'"', data)
                    data = data[:row.start()] + xml.replace(b"{r}", address.encode()) + data[row.start():]
                else:
                    data, n = cell_pattern(address).subn(xml.replace(b"{r}", address.encode()), data, count=1)
                    assert n == 1, address
            return extra_change(data) if extra_change else data
        return change
    return rewrite(src, dst, {part: change_for(items) for part, items in by_part.items()})


def inline(text: str) -> bytes:
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return b'<c r="{r}" t="inlineStr"><is><t>' + esc.encode("utf-8", "surrogatepass") + b"</t></is></c>"


def number(v: str) -> bytes:
    return b'<c r="{r}"><v>' + v.encode() + b"</v></c>"


def first(kind: str) -> str:
    return next(i.name for i in RUBRIC.inputs if i.kind == kind)


# --- the hostile classes of issue 11 ------------------------------------------------------------

def claim_huge(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {RUBRIC.indicators[0].claim_name: number("9E+307")})


def ranked_huge_over_tiny_gdp(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {"QC_5_1_b": number("9E+307"), "QC_5_1_g": number("0.001")})


def gdp_denormal(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {"QC_5_1_g": number("5E-324"), "QC_5_1_h": number("5E-324")})


def count_1e400(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {first("int"): inline("1e400")})


def slow_exponent(src: Path, dst: Path) -> Path:
    """Six cells whose exact conversion would take minutes each."""
    names = [i.name for i in RUBRIC.inputs if i.kind == "num"][:6]
    return set_cells(src, dst, {n: inline("1e20000000") for n in names})


def claim_5000_digits(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {RUBRIC.indicators[1].claim_name: inline("9" * 5000)})


def surrogate_escape(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {RUBRIC.indicators[0].evidence_name: inline("文件_xD800_清单")})


def raw_escape(src: Path, dst: Path) -> Path:
    """A raw ESC byte in the XML: not well-formed, Excel refuses the file."""
    return set_cells(src, dst, {"QC_UNIT": b'<c r="{r}" t="inlineStr"><is><t>\xe9\x95\xbf\x1b[31m</t></is></c>'})


def surrogate_charref(src: Path, dst: Path) -> Path:
    xml = b'<c r="{r}" t="inlineStr"><is><t>\xe6\x96\x87&#xD800;</t></is></c>'
    return set_cells(src, dst, {RUBRIC.indicators[0].evidence_name: xml})


def far_cell(src: Path, dst: Path, address: str = "XFD1048576") -> Path:
    """One cell at the far corner of the grid, after a comment that forces the full parser."""
    part = sheet_part(src, "评分表")

    def change(data: bytes) -> bytes:
        data = data.replace(b"<sheetData>", b"<sheetData><!-- full parse -->", 1)
        row = re.sub(r"[A-Z]", "", address).encode()
        return data.replace(b"</sheetData>", b'<row r="' + row + b'"><c r="' + address.encode()
                            + b'"><v>1</v></c></row></sheetData>', 1)
    return rewrite(src, dst, {part: change})


def beyond_grid(src: Path, dst: Path) -> Path:
    return far_cell(src, dst, "XFE1048577")


def veto_hidden_in_pi(src: Path, dst: Path) -> Path:
    """The veto cell shows 是; a fake 否 cell inside a processing instruction comes first."""
    name = "QC_VETO_1"
    fake = b'<?x <c r="{r}" t="inlineStr"><is><t>\xe5\x90\xa6</t></is></c>?>'
    return set_cells(src, dst, {name: inline("是")}, before={name: fake})


def veto_hidden_in_comment(src: Path, dst: Path) -> Path:
    name = "QC_VETO_1"
    fake = b'<!-- <c r="{r}" t="inlineStr"><is><t>\xe5\x90\xa6</t></is></c> -->'
    return set_cells(src, dst, {name: inline("是")}, before={name: fake})


def unit_hidden_in_shared_string(src: Path, dst: Path) -> Path:
    """Every shared string (the unit name's too) holds a hidden run inside a processing instruction."""
    def change(data: bytes) -> bytes:
        return data.replace(b"<si><t", b"<si><?x <t>\xe5\x81\x87\xe5\x90\x8d</t>?><t")
    return rewrite(src, dst, {"xl/sharedStrings.xml": change})


def prefixed_cells(src: Path, dst: Path) -> Path:
    part = sheet_part(src, "评分表")

    def change(data: bytes) -> bytes:
        data = data.replace(b"<worksheet ", b'<worksheet xmlns:x="' + NS + b'" ', 1)
        return data.replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>")
    return rewrite(src, dst, {part: change})


def tabs_before_r(src: Path, dst: Path) -> Path:
    part = sheet_part(src, "评分表")
    return rewrite(src, dst, {part: lambda d: d.replace(b"<c r=", b"<c\t\nr=")})


def unclosed_t_storm(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {RUBRIC.indicators[0].evidence_name:
                                 b'<c r="{r}" t="inlineStr"><is>' + b"<t>" * 300_000 + b"x</is></c>"})


def unit_million_chars(src: Path, dst: Path) -> Path:
    name = "".join(chr(0x4E00 + (k * 7919) % 20000) for k in range(1_000_000))  # not compressible
    return set_cells(src, dst, {"QC_UNIT": inline(name)})


def escapes_in_names(src: Path, dst: Path) -> Path:
    """ESC and CR LF as Excel writes them in a cell (_x001B_, _x000D__x000A_); a raw ESC is not XML."""
    return set_cells(src, dst, {"QC_UNIT": inline("长沙_x001B_[31m市_x001B_[0m"),
                                "QC_EMAIL": inline("a@b.cn_x000D__x000A_Bcc: x@y.cn")})


def rtl_override_name(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {"QC_UNIT": inline("长沙市\u202excod.exe")})


def zero_width_twin(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {"QC_UNIT": inline("长\u200b沙市")})


def formula_in_input(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {first("int"): b'<c r="{r}"><f>0*99</f><v>9</v></c>'})


def future_date(src: Path, dst: Path) -> Path:
    return set_cells(src, dst, {"QC_DATE": inline("2099-12-31")})


def xls_renamed(src: Path, dst: Path) -> Path:
    directory = "Workbook".encode("utf-16-le").ljust(128, b"\0")
    dst.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + directory + b"\0" * 4096)
    return dst


def dtd_in_sheet(src: Path, dst: Path) -> Path:
    part = sheet_part(src, "评分表")
    return rewrite(src, dst, {part: lambda d: d.replace(b"<worksheet ", b"<!DOCTYPE worksheet [ ]><worksheet ", 1)})


def duplicate_member(src: Path, dst: Path) -> Path:
    part = sheet_part(src, "评分表")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: that is the point
        return rewrite(src, dst, {}, extra={part: b"<worksheet/>"})


def duplicate_defined_name(src: Path, dst: Path) -> Path:
    def change(data: bytes) -> bytes:
        m = re.search(rb'<definedName name="QC_VETO_1">[^<]*</definedName>', data)
        return data[:m.end()] + data[m.start():m.end()].replace(b"$", b"").replace(b"H", b"K") + data[m.end():]
    return rewrite(src, dst, {"xl/workbook.xml": change})


def bzip2_members(src: Path, dst: Path) -> Path:
    return rewrite(src, dst, {}, method=zipfile.ZIP_BZIP2)


def lzma_members(src: Path, dst: Path) -> Path:
    return rewrite(src, dst, {}, method=zipfile.ZIP_LZMA)


def resaved(src: Path, dst: Path) -> Path:
    """The workbook saved again unchanged (a submission, no longer the sample as ``qc-batch sample`` wrote it)."""
    return rewrite(src, dst, {})


def renamed(src: Path, dst: Path, unit: str) -> Path:
    """A copy of the base workbook for another unit of the same level (its shared strings renamed)."""
    return rewrite(src, dst, {"xl/sharedStrings.xml": lambda d: d.replace(BASE_UNIT.encode(), unit.encode())})


#: file name -> (builder, outcome): a file reason code, or "+CODE" (accepted with that finding),
#: or "=" (accepted, read like the good workbook)
HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "自评分9E307.xlsx": (claim_huge, "+CLAIM_UNREADABLE"),
    "排名项超大_GDP极小.xlsx": (ranked_huge_over_tiny_gdp, "+VALUE_UNREADABLE"),
    "GDP非正规数.xlsx": (gdp_denormal, "+VALUE_UNREADABLE"),
    "个数1e400.xlsx": (count_1e400, "+VALUE_UNREADABLE"),
    "指数过大.xlsx": (slow_exponent, "+VALUE_UNREADABLE"),
    "自评分5000位.xlsx": (claim_5000_digits, "+CLAIM_UNREADABLE"),
    "代理项转义.xlsx": (surrogate_escape, "+TEXT_INVALID_CHAR"),
    "代理项字符引用.xlsx": (surrogate_charref, "+TEXT_INVALID_CHAR"),
    "远角单元格.xlsx": (far_cell, "="),
    "超出网格.xlsx": (beyond_grid, "FILE_CORRUPT"),
    "否决项藏于处理指令.xlsx": (veto_hidden_in_pi, "+VETO"),
    "否决项藏于注释.xlsx": (veto_hidden_in_comment, "+VETO"),
    "单位名藏于共享文本.xlsx": (unit_hidden_in_shared_string, "="),
    "带前缀的单元格.xlsx": (prefixed_cells, "="),
    "标签内制表符.xlsx": (tabs_before_r, "="),
    "未闭合t标签.xlsx": (unclosed_t_storm, "FILE_CORRUPT"),
    "单位名百万字.xlsx": (unit_million_chars, "HEADER_NAME_TOO_LONG"),
    "转义序列.xlsx": (escapes_in_names, "+HEADER_NAME_NORMALISED"),
    "从右到左.xlsx": (rtl_override_name, "+HEADER_NAME_NORMALISED"),
    "原始ESC字节.xlsx": (raw_escape, "FILE_CORRUPT"),
    "输入格公式.xlsx": (formula_in_input, "+INPUT_FORMULA"),
    "未来日期.xlsx": (future_date, "+DATE_IN_FUTURE"),
    "改名的xls.xlsx": (xls_renamed, "FILE_OLD_FORMAT"),
    "工作表DTD.xlsx": (dtd_in_sheet, "FILE_UNSAFE_XML"),
    "重名条目.xlsx": (duplicate_member, "FILE_CORRUPT"),
    "重名名称.xlsx": (duplicate_defined_name, "FILE_CORRUPT"),
    "bzip2压缩.xlsx": (bzip2_members, "FILE_CORRUPT"),
    "LZMA压缩.xlsx": (lzma_members, "FILE_CORRUPT"),
}

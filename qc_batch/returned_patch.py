"""Fast returned workbooks: one base workbook per process, patched for each unit.

Writing the whole score sheet with xlsxwriter costs about 50 ms a unit, most
of it for the parts every unit shares (formulas, validations, formats). So a
base is written once — the current template with every fillable cell blank,
a comment and a highlight on each of them, and a 审核结果 sheet showing every
style — and for each unit its XML is patched: the unit's values go into the
blank cells (as inline strings or numbers), every formula's cached result is
recomputed from the unit's facts (the writer recorded how), comments and
highlights are kept only where a finding is, and the 审核结果 rows are
written. :func:`qc_batch.returned.write_returned_plain` writes the same
workbook the slow way; a test compares the two cell by cell.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from xlsxwriter.utility import xl_rowcol_to_cell

from .batch import UnitResult
from .ingest import required_names
from .rubric import Rubric
from .scoring import Policy
from .sheet_data import cached_results, interpret
from .sheet_writer import Fill, build

_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BLANK = re.compile(r'<c r="([A-Z]+[0-9]+)" s="([0-9]+)"/>')
_FORMULA = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?)(?: t="str")?><f>(.*?)</f><v>[^<]*</v></c>', re.S)
_FLAG_CF = re.compile(r'<conditionalFormatting sqref="([A-Z]+[0-9]+)"><cfRule type="expression" dxfId="[0-9]+" '
                      r'priority="[0-9]+"><formula>TRUE</formula></cfRule></conditionalFormatting>')
_COMMENT = re.compile(r'<comment ref="([A-Z]+[0-9]+)" authorId="0">(.*?)</comment>', re.S)
_SHAPE = re.compile(r"<v:shape .*?</v:shape>", re.S)
_SHAPE_AT = re.compile(r"<x:Row>([0-9]+)</x:Row><x:Column>([0-9]+)</x:Column>")
_NOTE_MARK = "\u00b7"
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


class _FillView:
    """What the writer's recorded value functions need: ``fill`` and ``cached``."""

    def __init__(self, fill: Fill):
        self.fill = fill

    def cached(self, name: str, default: Any = 0) -> Any:
        return self.fill.cached.get(name, default)

    def _unit_line(self) -> str:
        from .sheet_writer import _Writer

        return _Writer._unit_line(self)  # type: ignore[arg-type]


@dataclass
class Base:
    members: list[tuple[zipfile.ZipInfo, bytes]]
    cells: dict[str, tuple[str, str]]                 # name -> (sheet, address)
    layout: list[tuple[str, str, Any]]                # (sheet, address, value function)
    parts: dict[str, str]                             # sheet name -> member
    comments: dict[str, tuple[str, str]]              # sheet name -> (comments member, vml member)
    styles: dict[str, int]                            # 审核结果 style -> xf index
    fillable: list[str]


_BASES: dict[tuple, Base] = {}


def base_for(rubric: Rubric, policy: Policy) -> Base:
    key = (id(rubric), tuple(sorted((k, str(v)) for k, v in policy.refs.items())), policy.na_policy)
    if key not in _BASES:
        _BASES[key] = _make_base(rubric, policy)
    return _BASES[key]


def _make_base(rubric: Rubric, policy: Policy) -> Base:
    from .returned import _audit_sheet

    fillable = list(required_names(rubric))  # every cell an official fills
    formats: dict[str, Any] = {}
    probe = [(None, [(k, "x" if k < 4 else 1, style)
                     for k, style in enumerate(("title", "plain", "head", "text", "num", "red"))])]
    fill = Fill({}, cached_results(rubric, interpret(rubric, {}), policy), dict.fromkeys(fillable, _NOTE_MARK),
                _audit_sheet(probe, formats))
    buf = io.BytesIO()
    writer = build(buf, rubric, policy, fill)
    styles = {k: f.xf_index for k, f in formats.items()}
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        members = [(info, z.read(info.filename)) for info in z.infolist()]
    data = {i.filename: d for i, d in members}
    wb_xml = data["xl/workbook.xml"].decode()
    rels = dict(re.findall(r'Id="(rId[0-9]+)"[^>]*Target="([^"]+)"', data["xl/_rels/workbook.xml.rels"].decode()))
    parts = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="[0-9]+"(?: state="hidden")? r:id="(rId[0-9]+)"',
                                wb_xml):
        parts[name] = "xl/" + rels[rid]
    comments = {}
    for name, part in parts.items():
        rel = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rel in data:
            targets = re.findall(r'Target="\.\./([^"]+)"', data[rel].decode())
            c = next((t for t in targets if t.startswith("comments")), None)
            v = next((t for t in targets if t.endswith(".vml")), None)
            if c and v:
                comments[name] = ("xl/" + c, "xl/" + v)
    return Base(members, dict(writer.cells), list(writer.layout), parts, comments, styles, fillable)


# -- cell XML ----------------------------------------------------------------------


def _text(value: str) -> str:
    value = _CTRL.sub("", value)
    space = ' xml:space="preserve"' if value != value.strip() or "\n" in value else ""
    return f"<t{space}>{escape(value)}</t>"


def _number(v: float) -> str:
    return repr(float(v))


def _value_cell(addr: str, style: str, raw: Any) -> str:
    if isinstance(raw, bool):
        return f'<c r="{addr}" s="{style}" t="b"><v>{int(raw)}</v></c>'
    if isinstance(raw, (int, float)):
        return f'<c r="{addr}" s="{style}"><v>{_number(raw)}</v></c>'
    if isinstance(raw, (dt.datetime, dt.date)):
        d = raw if isinstance(raw, dt.datetime) else dt.datetime(raw.year, raw.month, raw.day)
        serial = (d - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{addr}" s="{style}"><v>{_number(serial)}</v></c>'
    return f'<c r="{addr}" s="{style}" t="inlineStr"><is>{_text(str(raw))}</is></c>'


def _formula_cell(addr: str, style: str, formula: str, value: Any) -> str:
    if isinstance(value, str):
        return f'<c r="{addr}"{style} t="str"><f>{formula}</f><v>{escape(_CTRL.sub("", value))}</v></c>'
    if isinstance(value, bool):
        value = int(value)
    return f'<c r="{addr}"{style}><f>{formula}</f><v>{_number(value)}</v></c>'


def _patch_sheet(xml: str, values: Mapping[str, Any], results: Mapping[str, Any], flagged: set[str]) -> str:
    if values:
        xml = _BLANK.sub(lambda m: _value_cell(m[1], m[2], values[m[1]]) if m[1] in values else m[0], xml)
    if results:
        xml = _FORMULA.sub(lambda m: _formula_cell(m[1], m[2], m[3], results[m[1]]) if m[1] in results else m[0], xml)
    return _FLAG_CF.sub(lambda m: m[0] if m[1] in flagged else "", xml)


def _patch_comments(xml: str, notes: Mapping[str, str]) -> str:
    def keep(m: re.Match) -> str:
        if m[1] not in notes:
            return ""
        body = m[2].replace(f"<t>{_NOTE_MARK}</t>", _text(notes[m[1]]))
        return f'<comment ref="{m[1]}" authorId="0">{body}</comment>'
    return _COMMENT.sub(keep, xml)


def _patch_vml(xml: str, flagged: set[str]) -> str:
    def keep(m: re.Match) -> str:
        at = _SHAPE_AT.search(m[0])
        return m[0] if at and xl_rowcol_to_cell(int(at[1]), int(at[2])) in flagged else ""
    return _SHAPE.sub(keep, xml)


def _audit_xml(xml: str, rows, styles: Mapping[str, int]) -> str:
    out = []
    last_col = 0
    for r, (height, cells) in enumerate(rows):
        if not cells and not height:
            continue
        attrs = f' ht="{height}" customHeight="1"' if height else ""
        parts = []
        for col, value, style in cells:
            last_col = max(last_col, col)
            addr = xl_rowcol_to_cell(r, col)
            s = styles[style]
            if value is None:
                parts.append(f'<c r="{addr}" s="{s}"/>')
            elif isinstance(value, str):
                parts.append(f'<c r="{addr}" s="{s}" t="inlineStr"><is>{_text(value)}</is></c>')
            else:
                parts.append(f'<c r="{addr}" s="{s}"><v>{_number(value)}</v></c>')
        out.append(f'<row r="{r + 1}"{attrs}>{"".join(parts)}</row>')
    xml = re.sub(r"<sheetData>.*?</sheetData>|<sheetData/>", lambda _m: f"<sheetData>{''.join(out)}</sheetData>",
                 xml, count=1, flags=re.S)
    dim = f"A1:{xl_rowcol_to_cell(len(rows) - 1, last_col)}"
    return re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dim}"/>', xml, count=1)


def patched_workbook(u: UnitResult, rubric: Rubric, policy: Policy, notes: Mapping[str, str], rows) -> bytes:
    """The unit's returned workbook as xlsx bytes."""
    from .returned import SHEET_AUDIT

    base = base_for(rubric, policy)
    data = u.sheet.data
    values: dict[str, dict[str, Any]] = defaultdict(dict)
    for name in base.fillable:
        raw = data.raw.get(name)
        if raw is None or raw == "":
            continue
        sheet, addr = base.cells[name]
        values[sheet][addr] = raw
    view = _FillView(Fill(dict(data.raw), cached_results(rubric, data, policy)))
    results: dict[str, dict[str, Any]] = defaultdict(dict)
    for sheet, addr, fn in base.layout:
        results[sheet][addr] = fn(view)
    flagged: dict[str, dict[str, str]] = defaultdict(dict)
    for name, text in notes.items():
        if name in base.cells:
            sheet, addr = base.cells[name]
            flagged[sheet][addr] = text
    by_member = {part: sheet for sheet, part in base.parts.items()}
    comment_members = {c: sheet for sheet, (c, _v) in base.comments.items()}
    vml_members = {v: sheet for sheet, (_c, v) in base.comments.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info, blob in base.members:
            name = info.filename
            if name in by_member:
                sheet = by_member[name]
                xml = blob.decode("utf-8")
                if sheet == SHEET_AUDIT:
                    xml = _audit_xml(xml, rows, base.styles)
                else:
                    xml = _patch_sheet(xml, values.get(sheet, {}), results.get(sheet, {}),
                                       set(flagged.get(sheet, {})))
                blob = xml.encode("utf-8")
            elif name in comment_members:
                blob = _patch_comments(blob.decode("utf-8"), flagged.get(comment_members[name], {})).encode("utf-8")
            elif name in vml_members:
                blob = _patch_vml(blob.decode("utf-8"), set(flagged.get(vml_members[name], {}))).encode("utf-8")
            z.writestr(info, blob, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()

"""Fast returned workbooks: one base workbook per process, patched for each unit.

Writing the whole score sheet with xlsxwriter costs about 50 ms a unit, most
of it for the parts every unit shares (formulas, validations, formats). So a
base is written once — the current template with every fillable cell blank,
a comment and a highlight on each of them, and a 审核结果 sheet showing every
style — and for each unit its XML is patched: the unit's values go into the
blank cells (as inline strings or numbers), every formula's cached result is
recomputed from the unit's facts (the writer's public
:class:`~qc_batch.sheet.records.FormulaCell` records say which result each
formula cell shows), comments and
highlights are kept only where a finding is, and the 审核结果 rows are
written. :func:`qc_batch.outputs.returned.write_returned_plain` writes the same
workbook the slow way; a test compares the two cell by cell.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from xml.sax.saxutils import escape

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from qc_batch.batch.ingest import required_names
from qc_batch.batch.run import UnitResult
from qc_batch.engine.scoring import Policy
from qc_batch.outputs.deflate import crc32, deflate_raw
from qc_batch.outputs.returned_audit import SHEET_AUDIT, STYLES, audit_sheet
from qc_batch.read.sheet_data import cached_results, interpret
from qc_batch.rubric.model import Rubric
from qc_batch.sheet.records import Fill, FormulaCell, cached_value
from qc_batch.sheet.scores_sheet import dropdown_items
from qc_batch.sheet.writer import build

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


# -- member templates ----------------------------------------------------------------
#
# A member's XML is split once, when the base is made, into static text and
# slots (the cells, comments, shapes and flags a unit may change); a unit's
# member is then one join of the static text and each slot's text.

BLANK, FORMULA, FLAG, COMMENT, SHAPE = range(5)


@dataclass(frozen=True)
class Slot:
    kind: int
    addr: str
    original: str
    style: str = ""      # BLANK: the s attribute's value; FORMULA: the whole s="..." attribute or ""
    text: str = ""       # FORMULA: the formula's XML text; COMMENT: the comment's body
    # (the blank is filled, the formula's cached result set, the flag, comment or shape kept)


_DEFAULT_KEPT = (BLANK, FORMULA)  # slots whose base text stays unless the unit changes it; the rest go


@dataclass(frozen=True)
class Template:
    """A member's XML as pieces: static text and slot text alternating; the slots' defaults in place."""

    pieces: tuple[str, ...]
    slots: dict[tuple[int, str], tuple[int, Slot]]  # (kind, address) -> (index in pieces, slot)

    def render(self, changes: dict[int, str]) -> str:
        pieces = list(self.pieces)
        for i, text in changes.items():
            pieces[i] = text
        return "".join(pieces)


_SHEET_SLOTS = re.compile("|".join(f"(?P<{k}>{p.pattern})" for k, p in
                                   (("blank", _BLANK), ("formula", _FORMULA), ("flag", _FLAG_CF))), re.S)


def _split(xml: str, pattern: re.Pattern, slot) -> Template:
    pieces: list[str] = []
    slots: dict[tuple[int, str], tuple[int, Slot]] = {}
    pos = 0
    for m in pattern.finditer(xml):
        s = slot(m)
        pieces.append(xml[pos:m.start()])
        slots[(s.kind, s.addr)] = (len(pieces), s)
        pieces.append(s.original if s.kind in _DEFAULT_KEPT else "")
        pos = m.end()
    pieces.append(xml[pos:])
    return Template(tuple(pieces), slots)


def _sheet_slot(m: re.Match) -> Slot:
    g = m.groupdict()
    if g["blank"] is not None:
        return Slot(BLANK, m[2], m[0], style=m[3])
    if g["formula"] is not None:
        return Slot(FORMULA, m[5], m[0], style=m[6], text=m[7])
    return Slot(FLAG, m[9], m[0])


def _comment_slot(m: re.Match) -> Slot:
    return Slot(COMMENT, m[1], m[0], text=m[2])


def _shape_slot(m: re.Match) -> Slot:
    at = _SHAPE_AT.search(m[0])
    return Slot(SHAPE, xl_rowcol_to_cell(int(at[1]), int(at[2])) if at else "", m[0])


@dataclass(frozen=True)
class Member:
    """One zip member of the base: its name, time, and compressed bytes (reused when unchanged)."""

    name: str
    date_time: tuple[int, ...]
    crc: int
    size: int
    deflated: bytes


@dataclass
class Base:
    members: list[Member]
    templates: dict[str, tuple[str, str, Template]]   # member -> (kind, sheet, template); kind sheet/comments/vml
    audit: tuple[str, str, str, str]                  # member, then its XML around <dimension> and <sheetData>
    cells: dict[str, tuple[str, str]]                 # name -> (sheet, address)
    formula_cells: list[FormulaCell]                  # every formula cell and the result it shows
    styles: dict[str, int]                            # 审核结果 style -> xf index
    fillable: list[str]
    plan: dict[str, Plan]                             # sheet member -> where each unit's cells go


@dataclass(frozen=True)
class Plan:
    """A sheet member's unit cells, resolved to their pieces once per base: per unit, each
    cell is then one string join, with no address lookups and no formula text formatted.

    ``values``: (name, piece, address, style) of each fillable blank cell; ``formulas``:
    (piece, cell, the cell's XML up to its number result, the same up to a text result).
    """

    values: tuple[tuple[str, int, str, str], ...]
    formulas: tuple[tuple[int, FormulaCell, str, str], ...]


def _plan(tpl: Template, sheet: str, cells: Mapping[str, tuple[str, str]], fillable: list[str],
          formula_cells: list[FormulaCell]) -> Plan:
    values = []
    for name in fillable:
        where = cells.get(name)
        if where is not None and where[0] == sheet and (hit := tpl.slots.get((BLANK, where[1]))) is not None:
            values.append((name, hit[0], where[1], hit[1].style))
    formulas: dict[int, tuple[int, FormulaCell, str, str]] = {}  # one per cell; the last record of an address wins
    for cell in formula_cells:
        if cell.sheet == sheet and (hit := tpl.slots.get((FORMULA, cell.addr))) is not None:
            slot = hit[1]
            formulas[hit[0]] = (hit[0], cell, f'<c r="{cell.addr}"{slot.style}><f>{slot.text}</f><v>',
                                f'<c r="{cell.addr}"{slot.style} t="str"><f>{slot.text}</f><v>')
    return Plan(tuple(values), tuple(formulas.values()))


def base_for(rubric: Rubric, policy: Policy) -> Base:
    """The base workbook for ``policy``, made once per process and kept with the rubric."""
    key = (base_for, tuple(sorted((k, str(v)) for k, v in policy.refs.items())), policy.na_policy)
    return rubric.memo(key, lambda: _make_base(rubric, policy))


def _make_base(rubric: Rubric, policy: Policy) -> Base:
    fillable = list(required_names(rubric))  # every cell an official fills
    formats: dict[str, Any] = {}
    probe = [(None, [(k, "x" if k < 4 else 1, style) for k, style in enumerate(STYLES)])]
    fill = Fill({}, cached_results(rubric, interpret(rubric, {}), policy), dict.fromkeys(fillable, _NOTE_MARK),
                extra_sheet=audit_sheet(probe, formats))
    buf = io.BytesIO()
    writer = build(buf, rubric, policy, fill)
    styles = {k: f.xf_index for k, f in formats.items()}
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        raw = [(info, z.read(info.filename)) for info in z.infolist()]
    data = {i.filename: d for i, d in raw}
    wb_xml = data["xl/workbook.xml"].decode()
    rels = dict(re.findall(r'Id="(rId[0-9]+)"[^>]*Target="([^"]+)"', data["xl/_rels/workbook.xml.rels"].decode()))
    parts = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="[0-9]+"(?: state="hidden")? r:id="(rId[0-9]+)"',
                                wb_xml):
        parts[name] = "xl/" + rels[rid]
    templates: dict[str, tuple[str, str, Template]] = {}
    audit = ("", "", "", "")
    for name, part in parts.items():
        xml = data[part].decode("utf-8")
        if name == SHEET_AUDIT:
            head, rest = xml.split("<dimension ", 1)
            rest = rest.split("/>", 1)[1]
            middle, tail = re.split(r"<sheetData>.*?</sheetData>|<sheetData/>", rest, maxsplit=1, flags=re.S)
            audit = (part, head, middle, tail)
            continue
        templates[part] = ("sheet", name, _split(xml, _SHEET_SLOTS, _sheet_slot))
        rel = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rel in data:
            targets = re.findall(r'Target="\.\./([^"]+)"', data[rel].decode())
            c = next((t for t in targets if t.startswith("comments")), None)
            v = next((t for t in targets if t.endswith(".vml")), None)
            if c and v:
                templates["xl/" + c] = ("comments", name, _split(data["xl/" + c].decode("utf-8"), _COMMENT,
                                                                  _comment_slot))
                templates["xl/" + v] = ("vml", name, _split(data["xl/" + v].decode("utf-8"), _SHAPE, _shape_slot))
    members = [Member(info.filename, info.date_time, crc32(blob), len(blob),
                      b"" if info.filename in templates or info.filename == audit[0] else deflate_raw(blob))
               for info, blob in raw]
    cells, formula_cells = dict(writer.cells), list(writer.formula_cells)
    plan = {part: _plan(tpl, sheet, cells, fillable, formula_cells)
            for part, (kind, sheet, tpl) in templates.items() if kind == "sheet"}
    return Base(members, templates, audit, cells, formula_cells, styles, fillable, plan)


# -- zip ---------------------------------------------------------------------------


def _zip(entries: list[tuple[Member, bytes]]) -> bytes:
    """A zip of deflated members (no data descriptors, no extras): what Excel, WPS and LibreOffice read."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m, deflated in entries:
        t = m.date_time
        dostime = t[3] << 11 | t[4] << 5 | t[5] // 2
        dosdate = (t[0] - 1980) << 9 | t[1] << 5 | t[2]
        name = m.name.encode("utf-8")
        flags = 0x800 if not m.name.isascii() else 0
        head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 8, dostime, dosdate, m.crc, len(deflated),
                           m.size, len(name), 0)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 8, dostime, dosdate, m.crc,
                                   len(deflated), m.size, len(name), 0, 0, 0, 0, 0, offset) + name)
        out += (head, name, deflated)
        offset += len(head) + len(name) + len(deflated)
    cd = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), offset, 0)
    return b"".join(out) + cd + end


# -- cell XML ----------------------------------------------------------------------


# Texts recur from unit to unit (options, labels, the 审核结果 headings and finding titles): each is
# escaped once per process. Bounded, so a batch of distinct long texts cannot grow it without end.
_TEXTS: dict[str, str] = {}
_TEXTS_MAX = 1 << 15


def _text(value: str) -> str:
    out = _TEXTS.get(value)
    if out is None:
        clean = _CTRL.sub("", value)
        space = ' xml:space="preserve"' if clean != clean.strip() or "\n" in clean else ""
        out = f"<t{space}>{escape(clean)}</t>"
        if len(_TEXTS) < _TEXTS_MAX:
            _TEXTS[value] = out
    return out


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


_COLUMNS = [xl_col_to_name(c) for c in range(64)]  # the 审核结果 sheet uses the first few


def _audit_rows_xml(rows, styles: Mapping[str, int]) -> tuple[str, str]:
    """The 审核结果 sheet's <sheetData> and its dimension."""
    out = []
    last_col = 0
    for r, (height, cells) in enumerate(rows):
        if not cells and not height:
            continue
        attrs = f' ht="{height}" customHeight="1"' if height else ""
        parts = []
        row = r + 1
        for col, value, style in cells:
            last_col = max(last_col, col)
            addr = f"{_COLUMNS[col]}{row}"
            s = styles[style]
            if value is None:
                parts.append(f'<c r="{addr}" s="{s}"/>')
            elif isinstance(value, str):
                parts.append(f'<c r="{addr}" s="{s}" t="inlineStr"><is>{_text(value)}</is></c>')
            else:
                parts.append(f'<c r="{addr}" s="{s}"><v>{_number(value)}</v></c>')
        out.append(f'<row r="{r + 1}"{attrs}>{"".join(parts)}</row>')
    return f"<sheetData>{''.join(out)}</sheetData>", f"A1:{xl_rowcol_to_cell(len(rows) - 1, last_col)}"


def _sheet_xml(tpl: Template, plan: Plan, fill: Fill, flagged: Mapping[str, str]) -> str:
    pieces = list(tpl.pieces)
    for name, i, addr, style in plan.values:
        raw = fill.values.get(name)
        if raw is not None and raw != "":
            pieces[i] = _value_cell(addr, style, raw)
    for i, cell, head, head_text in plan.formulas:
        v = cached_value(cell, fill)
        if isinstance(v, str):
            pieces[i] = f'{head_text}{escape(_CTRL.sub("", v))}</v></c>'
        else:
            pieces[i] = f"{head}{_number(int(v) if isinstance(v, bool) else v)}</v></c>"
    slots = tpl.slots
    for addr in flagged:
        if (hit := slots.get((FLAG, addr))) is not None:
            pieces[hit[0]] = hit[1].original
    return "".join(pieces)


def _member_xml(kind: str, tpl: Template, flagged: Mapping[str, str]) -> str:
    """A comments or drawing member: only the flagged cells' comments and shapes kept."""
    changes: dict[int, str] = {}
    slots = tpl.slots
    if kind == "comments":
        for addr, text in flagged.items():
            if (hit := slots.get((COMMENT, addr))) is not None:
                body = hit[1].text.replace(f"<t>{_NOTE_MARK}</t>", _text(text))
                changes[hit[0]] = f'<comment ref="{addr}" authorId="0">{body}</comment>'
    else:
        for addr in flagged:
            if (hit := slots.get((SHAPE, addr))) is not None:
                changes[hit[0]] = hit[1].original
    return tpl.render(changes)


def returned_fill(u: UnitResult, rubric: Rubric, policy: Policy, notes: Mapping[str, str]) -> Fill:
    """What a returned workbook holds: the unit's values as the batch read them (a number typed
    as text becomes a number, an option its dropdown text), the formulas' results and the comments."""
    data = u.sheet.data
    values, notes = read_values(rubric, data), dict(notes)
    for ind in rubric.indicators:
        claim = data.claims[ind.code]
        if claim.ok and claim.value is not None and isinstance(claim.raw, str):
            values[ind.claim_name] = float(claim.value)
            typed = f"原填写为文字“{claim.raw}”，已改为数字 {float(claim.value):g}。"
            notes[ind.claim_name] = notes[ind.claim_name] + "\n" + typed if ind.claim_name in notes else typed
    return Fill(values, cached_results(rubric, data, policy, u.sheet.score), notes)


def read_values(rubric: Rubric, data) -> dict[str, Any]:
    """The unit's raw cell values, with every input the batch read from text written as it was read."""
    values = dict(data.raw)
    for inp in rubric.inputs:
        r = data.readings[inp.code]
        if not r.ok or r.value is None or not isinstance(r.raw, str):
            continue
        if inp.kind == "pct":
            # a cell's 0..1 is a fraction: 1% is written 0.01, 81.5% as 81.5
            values[inp.name] = float(r.value / 100) if r.value <= 1 else float(r.value)
        elif inp.kind in ("int", "rank", "num"):
            values[inp.name] = float(r.value)
        elif inp.kind == "tier":
            items = dropdown_items(inp)
            values[inp.name] = next(x for x in items if x.startswith(r.value))
    return values


def patched_workbook(u: UnitResult, rubric: Rubric, policy: Policy, notes: Mapping[str, str], rows) -> bytes:
    """The unit's returned workbook as xlsx bytes."""
    base = base_for(rubric, policy)
    fill = returned_fill(u, rubric, policy, notes)
    flagged: dict[str, dict[str, str]] = defaultdict(dict)
    for name, text in notes.items():
        if name in base.cells:
            sheet, addr = base.cells[name]
            flagged[sheet][addr] = text
    audit_member, head, middle, tail = base.audit
    entries = []
    for m in base.members:
        if m.deflated:
            entries.append((m, m.deflated))
            continue
        if m.name == audit_member:
            sheet_data, dim = _audit_rows_xml(rows, base.styles)
            xml = f'{head}<dimension ref="{dim}"/>{middle}{sheet_data}{tail}'
        else:
            kind, sheet, tpl = base.templates[m.name]
            if kind == "sheet":
                xml = _sheet_xml(tpl, base.plan[m.name], fill, flagged.get(sheet, {}))
            else:
                xml = _member_xml(kind, tpl, flagged.get(sheet, {}))
        blob = xml.encode("utf-8")
        entries.append((replace(m, crc=crc32(blob), size=len(blob)), deflate_raw(blob)))
    return _zip(entries)

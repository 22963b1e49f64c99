"""``returned/<unit>_审核.xlsx``: the unit's sheet handed back for correction.

The current template re-filled with the unit's own values (not a re-save of
the unit's file), each finding attached to its cell as a comment with a red
highlight, and a first sheet 审核结果 listing the findings and the
recomputed scores. An official corrects it and sends it again; ingest reads
it like any other sheet (the extra sheet changes no defined name).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import xlsxwriter

from qc_batch.batch.run import UnitResult
from qc_batch.engine.scoring import Policy
from qc_batch.read.sheet_data import cached_results
from qc_batch.rubric.model import Rubric
from qc_batch.sheet.writer import FONT, Fill, write_score_sheet

SHEET_AUDIT = "审核结果"
NOTE_MAX = 1000


def notes_for(u: UnitResult) -> dict[str, str]:
    """One comment per named cell, joining the findings on it."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for f in u.findings:
        if f.name and f.code != "RANKED_ITEM":
            by_name[f.name].append(f"【{f.severity}】{f.message}")
    out = {}
    for name, msgs in by_name.items():
        text = "审核意见：\n" + "\n".join(msgs)
        out[name] = text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…"
    return out


AuditRow = tuple[float | None, list[tuple[int, Any, str]]]  # height, [(col, value, style)]
STYLES = ("title", "plain", "head", "text", "num", "red")
COLUMNS = ((0, 0, 8), (1, 1, 40), (2, 5, 10), (6, 6, 70))
HEAD_ROW = 3


def audit_rows(u: UnitResult, rubric: Rubric, view: dict[str, Any]) -> list[AuditRow]:
    """The 审核结果 sheet as rows (0-based, in order); both writers below render these."""
    rows: list[AuditRow] = [
        (None, [(0, f"{u.entry.unit} {u.entry.year}年度评分表审核结果", "title")]),
        (None, [(0, f"结论：{u.score.status}；核算总分 {u.score.total} 分（合格线 {rubric.pass_mark} 分）。"
                    "请按下列意见和各单元格批注（标红处）改正后重新报送；改正时不要删除或移动工作表。", "plain")]),
        (None, []),
        (None, [(c, h, "head") for c, h in enumerate(["指标", "指标内容", "分值", "核算得分", "自评分", "自评−核算",
                                                      "审核意见"])]),
    ]
    by_ind: dict[str, list[str]] = defaultdict(list)
    for f in u.findings:
        if f.indicator and f.code != "RANKED_ITEM":
            by_ind[f.indicator].append(f"【{f.severity}】{f.message}")
    for ind in rubric.indicators:
        s = u.score.indicators[ind.code]
        claim = u.sheet.data.claims[ind.code].value
        msgs = by_ind.get(ind.code, [])
        lines = max(-(-len(ind.title) // 19), sum(-(-len(m) // 34) for m in msgs), 1)
        cells = [(0, ind.code, "text"), (1, ind.title, "text"), (2, ind.max, "num"), (3, float(s.points), "num")]
        if claim is None:
            cells += [(4, None, "num"), (5, None, "red")]
        else:
            cells += [(4, float(claim), "num"), (5, float(claim - s.points), "red")]
        cells.append((6, "\n".join(msgs), "text"))
        rows.append((14 * lines, cells))
    claimed = u.sheet.data.claimed_total
    rows.append((None, [(1, "合计", "head"), (2, rubric.total, "num"), (3, float(u.score.raw_total), "num"),
                        (4, float(claimed), "num"), (5, float(claimed - u.score.raw_total), "red")]))
    rows.append((None, []))
    general = [f for f in u.findings if not f.indicator]
    if general:
        rows.append((None, [(0, "其他审核意见", "title")]))
        for f in general:
            text = f.message + (f"（{f.cell}）" if f.cell else "")
            rows.append((14 * max(1, -(-len(text) // 60)), [(0, f.severity, "text"), (1, text, "text")]))
    rows.append((None, []))
    rows.append((None, [(0, f"丢失 {view['lost_total']} 分的改进清单见随附的审核报告。", "plain")]))
    return rows


def _audit_formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
    border = {"border": 1, "border_color": "#A6A6A6"}
    return {
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "plain": wb.add_format(base),
        "head": wb.add_format({**base, **border, "bold": True, "bg_color": "#D9E1F2", "align": "center"}),
        "text": wb.add_format({**base, **border, "text_wrap": True}),
        "num": wb.add_format({**base, **border, "num_format": "0.0#"}),
        "red": wb.add_format({**base, **border, "num_format": "+0.0#;-0.0#;0", "font_color": "#C00000"}),
    }


def _audit_sheet(rows: list[AuditRow], formats_out: dict[str, Any] | None = None):
    """An ``extra_sheet`` callback writing the 审核结果 sheet with xlsxwriter."""
    def write(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet(SHEET_AUDIT)
        fmt = _audit_formats(wb)
        if formats_out is not None:
            formats_out.update(fmt)
        for first, last, width in COLUMNS:
            ws.set_column(first, last, width)
        for r, (height, cells) in enumerate(rows):
            if height:
                ws.set_row(r, height)
            for col, value, style in cells:
                if value is None:
                    ws.write_blank(r, col, None, fmt[style])
                elif isinstance(value, str):
                    ws.write_string(r, col, value, fmt[style])
                else:
                    ws.write_number(r, col, value, fmt[style])
        ws.freeze_panes(HEAD_ROW + 1, 0)
        ws.repeat_rows(HEAD_ROW)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.activate()
        ws.set_first_sheet()
    return write


def write_returned_plain(path: Path, u: UnitResult, rubric: Rubric, policy: Policy, view: dict[str, Any]) -> None:
    """The reference writer: the whole workbook through xlsxwriter (about 50 ms a unit)."""
    data = u.sheet.data
    fill = Fill(dict(data.raw), cached_results(rubric, data, policy), notes_for(u),
                _audit_sheet(audit_rows(u, rubric, view)))
    write_score_sheet(path, rubric, policy=policy, fill=fill)


def write_returned(path: Path, u: UnitResult, rubric: Rubric, policy: Policy, view: dict[str, Any]) -> None:
    """The fast writer: the same workbook as :func:`write_returned_plain`, patched from a base."""
    from qc_batch.outputs.returned_patch import patched_workbook

    path.write_bytes(patched_workbook(u, rubric, policy, notes_for(u), audit_rows(u, rubric, view)))

"""``returned/<unit>_审核.xlsx``: the unit's sheet handed back for correction.

The current template re-filled with the unit's own values (not a re-save of
the unit's file), each finding attached to its cell as a comment with a red
highlight, and a first sheet 审核结果 listing the findings and the
recomputed scores. An official corrects it and sends it again; ingest reads
it like any other sheet (the extra sheet changes no defined name).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import xlsxwriter

from .audit import fmt_points
from .batch import UnitResult
from .rubric import Rubric
from .scoring import Policy
from .sheet_data import cached_results
from .sheet_writer import FONT, Fill, write_score_sheet

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


def _audit_sheet(u: UnitResult, rubric: Rubric, view: dict[str, Any]):
    def write(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet(SHEET_AUDIT)
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
        border = {"border": 1, "border_color": "#A6A6A6"}
        title = wb.add_format({**base, "bold": True, "font_size": 14})
        head = wb.add_format({**base, **border, "bold": True, "bg_color": "#D9E1F2", "align": "center"})
        text = wb.add_format({**base, **border, "text_wrap": True})
        num = wb.add_format({**base, **border, "num_format": "0.0#"})
        red = wb.add_format({**base, **border, "num_format": "+0.0#;-0.0#;0", "font_color": "#C00000"})
        ws.set_column(0, 0, 8)
        ws.set_column(1, 1, 40)
        ws.set_column(2, 5, 10)
        ws.set_column(6, 6, 70)
        ws.write_string(0, 0, f"{u.entry.unit} {u.entry.year}年度评分表审核结果", title)
        ws.write_string(1, 0, f"结论：{u.score.status}；核算总分 {u.score.total} 分（合格线 {rubric.pass_mark} 分）。"
                              "请按下列意见和各单元格批注（标红处）改正后重新报送；改正时不要删除或移动工作表。")
        ws.write_row(3, 0, ["指标", "指标内容", "分值", "核算得分", "自评分", "自评−核算", "审核意见"], head)
        r = 4
        by_ind: dict[str, list[str]] = defaultdict(list)
        for f in u.findings:
            if f.indicator and f.code != "RANKED_ITEM":
                by_ind[f.indicator].append(f"【{f.severity}】{f.message}")
        for ind in rubric.indicators:
            s = u.score.indicators[ind.code]
            claim = u.sheet.data.claims[ind.code].value
            ws.write_string(r, 0, ind.code, text)
            ws.write_string(r, 1, ind.title, text)
            ws.write_number(r, 2, ind.max, num)
            ws.write_number(r, 3, float(s.points), num)
            if claim is None:
                ws.write_blank(r, 4, None, num)
                ws.write_blank(r, 5, None, red)
            else:
                ws.write_number(r, 4, float(claim), num)
                ws.write_number(r, 5, float(claim - s.points), red)
            msgs = by_ind.get(ind.code, [])
            ws.write_string(r, 6, "\n".join(msgs), text)
            lines = max(-(-len(ind.title) // 19), sum(-(-len(m) // 34) for m in msgs), 1)
            ws.set_row(r, 14 * lines)
            r += 1
        ws.write_string(r, 1, "合计", head)
        ws.write_number(r, 2, rubric.total, num)
        ws.write_number(r, 3, float(u.score.raw_total), num)
        claimed = sum((c.value for c in u.sheet.data.claims.values() if c.value is not None), Fraction(0))
        ws.write_number(r, 4, float(claimed), num)
        ws.write_number(r, 5, float(claimed - u.score.raw_total), red)
        r += 2
        general = [f for f in u.findings if not f.indicator]
        if general:
            ws.write_string(r, 0, "其他审核意见", title)
            r += 1
            for f in general:
                ws.write_string(r, 0, f.severity, text)
                ws.merge_range(r, 1, r, 6, f.message + (f"（{f.cell}）" if f.cell else ""), text)
                r += 1
        ws.write_string(r + 1, 0, f"丢失 {view['lost_total']} 分的改进清单见随附的审核报告。")
        ws.freeze_panes(4, 0)
        ws.repeat_rows(3)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.activate()
        ws.set_first_sheet()
    return write


def write_returned(path: Path, u: UnitResult, rubric: Rubric, policy: Policy, view: dict[str, Any]) -> None:
    data = u.sheet.data
    values = dict(data.raw)
    fill = Fill(values, cached_results(rubric, data, policy), notes_for(u), _audit_sheet(u, rubric, view))
    write_score_sheet(path, rubric, policy=policy, fill=fill)


def summary_points(u: UnitResult) -> str:
    return fmt_points(u.score.raw_total)

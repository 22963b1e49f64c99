"""The 得分汇总 sheet: group scores, the live total and verdict, and what they assume."""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch.rubric.excel_formula import YES_LIST, Compiler
from qc_batch.rubric.expr import REFERENCES
from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import LINE_PT, PROTECT, lines_needed
from qc_batch.sheet.records import SHOW_SHARE, SHOW_UNIT_LINE, UNIT_LINE


def write(w, ws) -> None:
    """Write the sheet with ``w`` (a :class:`~qc_batch.sheet.writer.SheetWriter`)."""
    f = w.fmt
    r = w.rubric
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 5, 12)
    ws.set_column(6, 6, 40)
    ws.merge_range(0, 0, 0, 6, f"{r.title}——得分汇总", f.title)
    ws.set_row(0, 28)
    ws.merge_range(1, 0, 1, 6, "", f.subtitle)
    w.fw(ws, 1, 0, UNIT_LINE, f.subtitle, show=SHOW_UNIT_LINE)
    ws.write_row(3, 0, ["序号", "类别", "分值", "计算得分", "自评分合计", "得分率", "说明"], f.head)
    row = 4
    for g in r.groups:
        scores = ",".join(i.score_name for i in g.indicators)
        claims = ",".join(i.claim_name for i in g.indicators)
        ws.write_number(row, 0, g.number, f.center)
        ws.write_string(row, 1, g.name, f.cell)
        ws.write_number(row, 2, g.max, f.center)
        gname = f"QC_GROUP_{g.number}"
        w.fw(ws, row, 3, f"=SUM({scores})", f.score, gname)
        w.name(gname, sn.SHEET_SUMMARY, row, 3)
        w.fw(ws, row, 4, f"=SUM({claims})", f.score, gname + "_CLAIM")
        w.fw(ws, row, 5, f"={xl_rowcol_to_cell(row, 3)}/{g.max}", f.pct, gname,
             show=SHOW_SHARE, scale=g.max)
        notes = []
        ranked = [i.code for i in g.indicators if i.is_ranked]
        if ranked:
            notes.append(f"{'、'.join(ranked)} 含排名项")
        if any(i.expert for i in g.indicators):
            notes.append("含验收专家核定项")
        ws.write_string(row, 6, "；".join(notes), f.small)
        row += 1
    g_first, g_last = 4, row - 1
    col_cell = lambda c: f"{xl_rowcol_to_cell(g_first, c)}:{xl_rowcol_to_cell(g_last, c)}"  # noqa: E731
    ws.write_string(row, 1, "合计", f.para_bold)
    ws.write_number(row, 2, r.total, f.center)
    w.fw(ws, row, 3, f"=SUM({col_cell(3)})", f.score, sn.NAME_RAW_TOTAL)
    w.name(sn.NAME_RAW_TOTAL, sn.SHEET_SUMMARY, row, 3)
    w.fw(ws, row, 4, f"=SUM({col_cell(4)})", f.score, sn.NAME_CLAIM_TOTAL)
    w.name(sn.NAME_CLAIM_TOTAL, sn.SHEET_SUMMARY, row, 4)
    row += 2
    na_terms = [Compiler(i).na_formula(w.na_policy) for i in r.indicators]
    na_terms = [t for t in na_terms if t != "0"] or ["0"]
    total = (f"ROUND(ROUND({sn.NAME_RAW_TOTAL}*{r.total}/({r.total}-{sn.NAME_NA_POINTS}),10),1)"
             if w.na_policy == "prorate" else f"ROUND({sn.NAME_RAW_TOTAL},1)")
    vetoes = ",".join(f"{sn.veto_name(k)}" for k in range(1, len(r.vetoes) + 1))
    veto_test = "+".join(f'SUMPRODUCT(--(TRIM({sn.veto_name(k)})={YES_LIST}))'
                         for k in range(1, len(r.vetoes) + 1))
    best_terms = []
    for ind in r.indicators:
        best_terms.append(sn.best_name(ind.code) if ind.is_ranked else ind.score_name)
    ranked_codes = "、".join(i.code for i in r.indicators if i.is_ranked)
    na_note = ("按“比例折算”：总分 = 计算得分合计 × 1060 ÷（1060 − 合理缺项分值），四舍五入保留一位小数"
               if w.na_policy == "prorate" else "合理缺项按满分计入")
    lines = [
        (sn.NAME_NA_POINTS, "合理缺项分值（3.5 无口岸）", "=" + "+".join(na_terms), f.score, na_note),
        (sn.NAME_TOTAL, "总分（本表测算）", "=" + total, f.score_big,
         f"含排名的指标（{ranked_codes}）按“未进入前列”计，最终以省局汇总结果为准"),
        (sn.NAME_BEST_TOTAL, "若排名项均居前列，最高可得", "=ROUND(" + "+".join(best_terms) + ",1)", f.score,
         "仅供参考：排名须与同级单位比较后确定"),
        ("QC_PASS_MARK", "合格线", f"={r.pass_mark}", f.score, f"总分 {r.pass_mark} 分及以上为合格"),
        ("QC_VETO_COUNT", "不予受理情形（填“是”的项数）", "=" + veto_test, f.score, "见“基本信息”第15章情形"),
        (sn.NAME_STATUS, "评价结论（本表测算）",
         f'=IF(QC_VETO_COUNT>0,"不予受理",IF({sn.NAME_TOTAL}>={r.pass_mark},"合格","不合格"))',
         f.status, "任一不予受理情形为“是”即不予受理"),
        (sn.NAME_MISSING_COUNT, "缺填项数", "=SUM(QC_MISSING_FLAGS)", f.score,
         "缺填的项目不得分；请在“评分表”中补齐标橙的单元格"),
    ]
    del vetoes
    for name, label, formula, fmt, note in lines:
        ws.write_string(row, 1, label, f.para_bold)
        default = 0 if name != sn.NAME_STATUS else "不合格"
        if name == "QC_PASS_MARK":
            default = r.pass_mark
        w.fw(ws, row, 3, formula, fmt, name, default)
        w.name(name, sn.SHEET_SUMMARY, row, 3)
        ws.merge_range(row, 4, row, 6, note, f.small)
        ws.set_row(row, 30)
        row += 1
    status_cell = xl_rowcol_to_cell(row - 2, 3)
    ws.conditional_format(status_cell, {"type": "cell", "criteria": "==", "value": '"合格"',
                                        "format": w.wb.add_format({"bg_color": "#C6EFCE",
                                                                      "font_color": "#006100"})})
    ws.conditional_format(status_cell, {"type": "cell", "criteria": "!=", "value": '"合格"',
                                        "format": w.wb.add_format({"bg_color": "#FFC7CE",
                                                                      "font_color": "#9C0006"})})
    row += 1
    refs_note = []
    for ref, about in REFERENCES.items():
        used_by = "、".join(w.rubric.reference_users(ref))
        v = w.policy.refs.get(ref)
        shown = "未提供，该项暂按0分计，由省局汇总时按年度设置计算" if v is None else f"{float(v):g}（{about.unit}）"
        refs_note.append(f"{used_by} 使用的{about.label}：{shown}")
    notes = [
        "说明：",
        f"1. 含排名的指标（{ranked_codes}）须与全省同级单位比较，单个工作簿无法确定；本表按“未进入前列”计分，"
        "“最高可得”按全部进入前列估算。",
        "2. " + "；".join(refs_note) + "。",
        "3. 5.4 和第11类由验收专家现场核定；本表按所填内容测算。",
        "4. 本表结果仅供自查，最终得分以省局审核重新计算的结果为准。",
    ]
    for line in notes:
        ws.merge_range(row, 0, row, 6, line, f.para)
        ws.set_row(row, max(18, lines_needed(line, 120) * LINE_PT))
        row += 1
    w.page_setup(ws, repeat=None, landscape=True)
    ws.protect("", PROTECT)

"""The 得分汇总 sheet: group scores, the live total and verdict, and what they assume."""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch.rubric.excel_formula import YES_LIST, Compiler, claim_read_name, ref_name, word_count
from qc_batch.rubric.expr import REFERENCES
from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import LINE_PT, PROTECT, lines_needed
from qc_batch.sheet.live import AWAITING, BLANK, INCOMPLETE, reference_parts
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
        claims = ",".join(claim_read_name(i.claim_name) for i in g.indicators)
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
    veto_test = "+".join(word_count(sn.veto_name(k), YES_LIST) for k in range(1, len(r.vetoes) + 1))
    best_terms = [sn.best_name(ind.code) if ind.is_ranked else ind.score_name for ind in r.indicators]
    ranked_codes = "、".join(i.code for i in r.indicators if i.is_ranked)
    expert_codes = "、".join(i.code for i in r.indicators if i.expert)
    na_codes = "、".join(p.code for i in r.indicators for p in i.parts if p.na is not None)
    na_note = (f"按“比例折算”：总分 = 计算得分合计 × {r.total} ÷（{r.total} − 合理缺项分值），四舍五入保留一位小数"
               if w.na_policy == "prorate" else "合理缺项按满分计入")
    # the most the total could become: ranking items all 前列, the parts awaiting a national
    # reference value earned, the expert-rated items at full marks (see sheet/live.py)
    upper_terms = list(best_terms)
    upper_terms += [f"({i.max}-{i.score_name})" for i in r.indicators if i.expert]
    upper_terms += [f"IF(ISNUMBER({ref_name(ref)}),0,{part.points})" for _i, part, ref in reference_parts(r)]
    upper_raw = "+".join(upper_terms)
    upper = (f"ROUND(ROUND(({upper_raw})*{r.total}/({r.total}-{sn.NAME_NA_POINTS}),10),1)"
             if w.na_policy == "prorate" else f"ROUND({upper_raw},1)")
    status = (f'=IF(QC_VETO_COUNT>0,"不予受理",IF({sn.NAME_TOTAL}>={r.pass_mark},"合格",'
              f'IF(COUNTA({sn.NAME_INPUT_VALUES})=0,"{BLANK}",IF({sn.NAME_MISSING_COUNT}>0,"{INCOMPLETE}",'
              f'IF({sn.NAME_UPPER_TOTAL}>={r.pass_mark},"{AWAITING}","不合格")))))')
    lines = [
        (sn.NAME_NA_POINTS, f"合理缺项分值（{na_codes}）", "=" + "+".join(na_terms), f.score, na_note, 0),
        (sn.NAME_TOTAL, "总分（本表测算）", "=" + total, f.score_big,
         f"含排名的指标（{ranked_codes}）按“未进入前列”计，与全国平均值比较的项目在省局提供数值前不计，"
         "最终以省局汇总结果为准", 0),
        (sn.NAME_BEST_TOTAL, "若排名项均居前列，得分合计", "=ROUND(" + "+".join(best_terms) + ",1)", f.score,
         "仅供参考：排名须与同级单位比较后确定", 0),
        (sn.NAME_UPPER_TOTAL, "最高可能总分", "=" + upper, f.score,
         f"排名项均居前列、与全国平均值比较的项目均得分、专家核定项（{expert_codes}）满分时的总分", 0),
        ("QC_PASS_MARK", "合格线", f"={r.pass_mark}", f.score, f"总分 {r.pass_mark} 分及以上为合格", r.pass_mark),
        ("QC_VETO_COUNT", "不予受理情形（填“是”的项数）", "=" + veto_test, f.score, "见“基本信息”第15章情形", 0),
        (sn.NAME_STATUS, "评价结论（本表测算）", status, f.status,
         f"任一不予受理情形为“是”即不予受理；未达合格线但“最高可能总分”达到的，为“{AWAITING}”", BLANK),
        (sn.NAME_MISSING_COUNT, "缺填项数", "=SUM(QC_MISSING_FLAGS)", f.score,
         "缺填的项目不得分；请在“评分表”中补齐标橙的单元格", 0),
    ]
    status_row = row
    for name, label, formula, fmt, note, default in lines:
        if name == sn.NAME_STATUS:
            status_row = row
        ws.write_string(row, 1, label, f.para_bold)
        w.fw(ws, row, 3, formula, fmt, name, default)
        w.name(name, sn.SHEET_SUMMARY, row, 3)
        ws.merge_range(row, 4, row, 6, note, f.small)
        ws.set_row(row, max(2, lines_needed(note, 62)) * LINE_PT + 4)
        row += 1
    status_cell = xl_rowcol_to_cell(status_row, 3)
    colours = (("合格", "#C6EFCE", "#006100"), ("不合格", "#FFC7CE", "#9C0006"), ("不予受理", "#FFC7CE", "#9C0006"))
    for value, bg, fg in colours:
        ws.conditional_format(status_cell, {"type": "cell", "criteria": "==", "value": f'"{value}"',
                                            "format": w.wb.add_format({"bg_color": bg, "font_color": fg})})
    row += 1
    refs_note = []
    for ref, about in REFERENCES.items():
        used_by = "、".join(w.rubric.reference_users(ref))
        v = w.policy.refs.get(ref)
        shown = ("省局尚未提供：该项待省局按年度数值计算，暂不计入本表总分" if v is None
                 else f"{float(v):g}（{about.unit}）")
        refs_note.append(f"{used_by} 使用的{about.label}：{shown}")
    notes = [
        "说明：",
        f"1. 含排名的指标（{ranked_codes}）须与全省同级单位比较，单个工作簿无法确定；本表按“未进入前列”计分，"
        "“若排名项均居前列”一行按全部进入前列估算。",
        "2. " + "；".join(refs_note) + "。",
        f"3. {expert_codes} 由验收专家现场核定；本表按所填内容测算。",
        "4. 本表结果仅供自查，最终得分以省局审核重新计算的结果为准。",
    ]
    for line in notes:
        ws.merge_range(row, 0, row, 6, line, f.para)
        ws.set_row(row, max(18, lines_needed(line, 118) * LINE_PT + 4))
        row += 1
    w.page_setup(ws, repeat=None, landscape=True)
    ws.protect("", PROTECT)

"""``comparison.xlsx`` for bureau staff: ranking, indicator scores, findings, files, notes, charts.

Written with xlsxwriter. Every text that comes from a workbook is written with
``write_string`` (never parsed as a number or a formula), so a unit name such
as ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from qc_batch import __version__
from qc_batch.batch.ingest import STATUS_LABELS
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.engine.findings import ERROR, WARNING
from qc_batch.outputs.report_data import ReportSet
from qc_batch.rubric.expr import REFERENCES

FONT = "宋体"


def _f(x: Fraction | Any) -> float:
    return float(x)


class _Fmt:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
        border = {"border": 1, "border_color": "#A6A6A6"}

        def f(**kw):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=14)
        self.head = f(bold=True, bg_color="#D9E1F2", text_wrap=True, align="center", **border)
        self.text = f(**border)
        self.wrap = f(text_wrap=True, **border)
        self.int = f(num_format="0", align="center", **border)
        self.pts = f(num_format="0.0#", **border)
        self.total = f(num_format="0.0", bold=True, **border)
        self.pct = f(num_format="0.0%", **border)
        self.diff_pos = f(num_format="+0.0#;-0.0#;0", font_color="#C00000", **border)
        self.max_row = f(num_format="0", italic=True, bg_color="#F2F2F2", align="center", **border)
        self.stat = f(num_format="0.0#", italic=True, bg_color="#F2F2F2", **border)
        self.note = f(text_wrap=True, valign="top")
        self.pass_ = wb.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"})
        self.fail = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.veto = wb.add_format({"font_color": "#FFFFFF", "bg_color": "#7F7F7F"})
        self.err = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.warn = wb.add_format({"font_color": "#9C5700", "bg_color": "#FFEB9C"})


def _setup(ws, header_rows: int, landscape: bool = True, pages_wide: int = 1) -> None:
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(pages_wide, 0)
    ws.repeat_rows(0, header_rows - 1)
    ws.set_margins(0.4, 0.4, 0.6, 0.6)
    ws.set_footer("&C&8第 &P 页，共 &N 页")


def _ranked(b: BatchResult, rs: ReportSet) -> list[UnitResult]:
    def key(u: UnitResult):
        rank = rs.peers[u.entry.level].ranks.get(u.id)
        return (b.rubric.levels.index(u.entry.level) if u.entry.level in b.rubric.levels else 9,
                rank is None, rank or 0, u.entry.unit)
    return sorted(b.units, key=key)


def write_comparison(path: Path, b: BatchResult, rs: ReportSet, generated_at: str) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False, "in_memory": True})
    wb.set_properties({"title": f"{b.settings.year}年度质量强市评价汇总", "author": f"qc-batch {__version__}",
                       "created": dt.datetime(2000, 1, 1)})
    fmt = _Fmt(wb)
    units = _ranked(b, rs)
    _ranking(wb, fmt, b, rs, units)
    _indicators(wb, fmt, b, rs, units)
    _groups(wb, fmt, b, rs, units)
    _findings(wb, fmt, b, units)
    _files(wb, fmt, b)
    _about(wb, fmt, b, generated_at)
    wb.close()


def _ranking(wb, fmt: _Fmt, b: BatchResult, rs: ReportSet, units: list[UnitResult]) -> None:
    ws = wb.add_worksheet("总排名")
    heads = ["层级内名次", "单位", "层级", "所属市州", "总分", "得分合计", "自评总分", "自评−核算", "结论", "错误", "警告",
             "需重点复核", "来源文件"]
    widths = [8, 18, 8, 14, 9, 9, 9, 9, 9, 6, 6, 40, 30]
    ws.write_row(0, 0, heads, fmt.head)
    ws.write_string(0, 14, "合格线", fmt.head)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.set_row(0, 30)
    for r, u in enumerate(units, start=1):
        v = rs.views[u.id]
        rank = rs.peers[u.entry.level].ranks.get(u.id)
        claimed = u.sheet.data.claimed_total
        ws.write(r, 0, rank if rank is not None else "—", fmt.int)
        ws.write_string(r, 1, u.entry.unit, fmt.text)
        ws.write_string(r, 2, u.entry.level, fmt.text)
        ws.write_string(r, 3, u.entry.parent, fmt.text)
        ws.write_number(r, 4, _f(u.score.total), fmt.total)
        ws.write_number(r, 5, _f(u.score.raw_total), fmt.pts)
        ws.write_number(r, 6, _f(claimed), fmt.pts)
        ws.write_number(r, 7, _f(claimed - u.score.raw_total), fmt.diff_pos)
        ws.write_string(r, 8, u.score.status, fmt.text)
        ws.write_number(r, 9, sum(1 for f in u.findings if f.severity == ERROR), fmt.int)
        ws.write_number(r, 10, sum(1 for f in u.findings if f.severity == WARNING), fmt.int)
        review = "；".join(v["pass_line"]["items"])
        ws.write_string(r, 11, review, fmt.wrap)
        if review:
            ws.set_row(r, 14 * max(1, -(-len(review) // 19)))
        ws.write_string(r, 12, u.entry.file, fmt.text)
        ws.write_number(r, 14, b.rubric.pass_mark, fmt.int)  # the 800 line: a helper column for the chart
    n = len(units)
    last = max(n, 1)
    if n:
        ws.conditional_format(1, 4, n, 4, {"type": "data_bar", "bar_color": "#9BC2E6", "bar_solid": True,
                                           "min_type": "num", "min_value": 0, "max_type": "num",
                                           "max_value": b.rubric.total})
        ws.conditional_format(1, 8, n, 8, {"type": "cell", "criteria": "==", "value": '"合格"', "format": fmt.pass_})
        ws.conditional_format(1, 8, n, 8, {"type": "cell", "criteria": "==", "value": '"不合格"', "format": fmt.fail})
        ws.conditional_format(1, 8, n, 8, {"type": "cell", "criteria": "==", "value": '"不予受理"', "format": fmt.veto})
        ws.conditional_format(1, 4, n, 4, {"type": "cell", "criteria": "<", "value": b.rubric.pass_mark,
                                           "format": fmt.fail})
    ws.autofilter(0, 0, last, len(heads) - 1)
    ws.freeze_panes(1, 2)
    _setup(ws, 1)
    ws.set_column(14, 14, 7, None, {"hidden": True})
    if n:
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"name": "总分", "categories": ["总排名", 1, 1, n, 1], "values": ["总排名", 1, 4, n, 4],
                          "fill": {"color": "#4472C4"}, "gap": 60})
        line = wb.add_chart({"type": "line"})
        line.add_series({"name": f"合格线 {b.rubric.pass_mark} 分", "categories": ["总排名", 1, 1, n, 1],
                         "values": ["总排名", 1, 14, n, 14], "line": {"color": "#C00000", "width": 2, "dash_type": "dash"},
                         "marker": {"type": "none"}})
        chart.combine(line)
        chart.show_hidden_data()
        chart.set_title({"name": "各单位总分与合格线", "name_font": {"name": FONT, "size": 12}})
        chart.set_x_axis({"num_font": {"name": FONT, "size": 8, "rotation": -45}})
        chart.set_y_axis({"min": 0, "max": b.rubric.total, "num_font": {"name": FONT}})
        chart.set_legend({"position": "bottom", "font": {"name": FONT}})
        chart.set_size({"width": max(720, 22 * n), "height": 380})
        ws.insert_chart(n + 3, 1, chart)


def _indicators(wb, fmt: _Fmt, b: BatchResult, rs: ReportSet, units: list[UnitResult]) -> None:
    ws = wb.add_worksheet("指标得分")
    inds = b.rubric.indicators
    fixed = ["单位", "层级", "总分"]
    ws.write_row(0, 0, fixed, fmt.head)
    ws.write_row(1, 0, ["分值", "", ""], fmt.max_row)
    for k, ind in enumerate(inds):
        c = len(fixed) + k
        ws.write_string(0, c, ind.code, fmt.head)
        ws.write_comment(0, c, f"{ind.code} {ind.title}", {"font_name": FONT})
        ws.write_number(1, c, ind.max, fmt.max_row)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 2, 8)
    ws.set_column(len(fixed), len(fixed) + len(inds) - 1, 5.5)
    first = 2
    columns: list[list[float]] = [[] for _ in range(1 + len(inds))]  # total, then each indicator
    for r, u in enumerate(units, start=first):
        ws.write_string(r, 0, u.entry.unit, fmt.text)
        ws.write_string(r, 1, u.entry.level, fmt.text)
        row = [_f(u.score.total)] + [_f(u.score.indicators[ind.code].points) for ind in inds]
        ws.write_number(r, 2, row[0], fmt.total)
        for k, value in enumerate(row):
            columns[k].append(value)
            if k:
                ws.write_number(r, len(fixed) + k - 1, value, fmt.pts)
    n = len(units)
    last = first + n - 1
    if n:
        ws.write_string(last + 1, 0, "平均", fmt.stat)
        ws.write_string(last + 2, 0, "最高", fmt.stat)
        for c in range(2, len(fixed) + len(inds)):
            col = xl_col_to_name(c)
            values = columns[c - 2]
            avg, best = sum(values) / n, max(values)
            ws.write_formula(last + 1, c, f"=AVERAGE({col}{first + 1}:{col}{last + 1})", fmt.stat, avg)
            ws.write_formula(last + 2, c, f"=MAX({col}{first + 1}:{col}{last + 1})", fmt.stat, best)
            ws.conditional_format(first, c, last, c, {"type": "3_color_scale", "min_color": "#F8696B",
                                                      "mid_color": "#FFEB84", "max_color": "#63BE7B"})
    ws.autofilter(0, 0, max(last, first), len(fixed) + len(inds) - 1)
    ws.freeze_panes(2, 1)
    _setup(ws, 2, pages_wide=3)
    ws.repeat_columns(0)


def _groups(wb, fmt: _Fmt, b: BatchResult, rs: ReportSet, units: list[UnitResult]) -> None:
    ws = wb.add_worksheet("类别得分率")
    groups = b.rubric.groups
    ws.write_row(0, 0, ["单位", "层级", "总分"] + [f"{g.number} {g.name}" for g in groups], fmt.head)
    ws.write_row(1, 0, ["分值", "", b.rubric.total] + [g.max for g in groups], fmt.max_row)
    ws.set_row(0, 42)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 2, 8)
    ws.set_column(3, 2 + len(groups), 10)
    for r, u in enumerate(units, start=2):
        ws.write_string(r, 0, u.entry.unit, fmt.text)
        ws.write_string(r, 1, u.entry.level, fmt.text)
        ws.write_number(r, 2, _f(u.score.total), fmt.total)
        for k, g in enumerate(groups):
            ws.write_number(r, 3 + k, _f(u.score.group_points(g.number) / g.max), fmt.pct)
    n = len(units)
    if n:
        ws.conditional_format(2, 3, n + 1, 2 + len(groups), {"type": "3_color_scale", "min_color": "#F8696B",
                                                              "mid_color": "#FFEB84", "max_color": "#63BE7B"})
    # the levels' averages by group, and the chart of the profiles
    top = n + 4
    ws.write_string(top, 0, "各层级平均得分率", fmt.title)
    ws.write_row(top + 1, 0, ["层级", "单位数", ""] + [f"{g.number} {g.name}" for g in groups], fmt.head)
    levels = [lv for lv in b.rubric.levels if lv in rs.peers]
    for k, level in enumerate(levels):
        p = rs.peers[level]
        r = top + 2 + k
        ws.write_string(r, 0, level, fmt.text)
        ws.write_number(r, 1, p.n, fmt.int)
        ws.write_blank(r, 2, None, fmt.text)
        for j, g in enumerate(groups):
            ws.write_number(r, 3 + j, _f(p.group_avg[g.number] / g.max), fmt.pct)
    if levels:
        chart = wb.add_chart({"type": "bar"})
        colors = ["#4472C4", "#ED7D31", "#A5A5A5"]
        last_col = 2 + len(groups)
        for k in range(len(levels)):
            r = top + 2 + k
            chart.add_series({"name": ["类别得分率", r, 0], "categories": ["类别得分率", top + 1, 3, top + 1, last_col],
                              "values": ["类别得分率", r, 3, r, last_col], "fill": {"color": colors[k % 3]}})
        chart.set_title({"name": "各层级平均得分率（按类别）", "name_font": {"name": FONT, "size": 12}})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "num_font": {"name": FONT}})
        chart.set_y_axis({"reverse": True, "num_font": {"name": FONT, "size": 9}})
        chart.set_legend({"position": "bottom", "font": {"name": FONT}})
        chart.set_size({"width": 720, "height": 460})
        ws.insert_chart(top + 3 + len(levels), 0, chart)
    ws.freeze_panes(2, 1)
    _setup(ws, 2)


def _findings(wb, fmt: _Fmt, b: BatchResult, units: list[UnitResult]) -> None:
    ws = wb.add_worksheet("审核发现")
    heads = ["单位", "层级", "指标", "填报项", "单元格", "级别", "代码", "填写的值", "说明"]
    ws.write_row(0, 0, heads, fmt.head)
    for c, w in enumerate([16, 8, 6, 9, 14, 6, 20, 14, 80]):
        ws.set_column(c, c, w)
    r = 0
    for u in units:
        for f in u.findings:
            r += 1
            ws.write_string(r, 0, u.entry.unit, fmt.text)
            ws.write_string(r, 1, u.entry.level, fmt.text)
            ws.write_string(r, 2, f.indicator, fmt.text)
            ws.write_string(r, 3, f.input, fmt.text)
            ws.write_string(r, 4, f.cell, fmt.text)
            ws.write_string(r, 5, f.severity, fmt.text)
            ws.write_string(r, 6, f.code, fmt.text)
            ws.write_string(r, 7, f.value, fmt.text)
            ws.write_string(r, 8, f.message, fmt.wrap)
    if r:
        ws.conditional_format(1, 5, r, 5, {"type": "cell", "criteria": "==", "value": f'"{ERROR}"', "format": fmt.err})
        ws.conditional_format(1, 5, r, 5, {"type": "cell", "criteria": "==", "value": f'"{WARNING}"',
                                           "format": fmt.warn})
    ws.autofilter(0, 0, max(r, 1), len(heads) - 1)
    ws.freeze_panes(1, 1)
    _setup(ws, 1)


def _files(wb, fmt: _Fmt, b: BatchResult) -> None:
    ws = wb.add_worksheet("文件清单")
    heads = ["文件", "结果", "原因", "单位", "层级", "年度", "填报日期", "以此文件为准", "大小（字节）", "SHA-256"]
    ws.write_row(0, 0, heads, fmt.head)
    for c, w in enumerate([34, 12, 60, 14, 8, 6, 11, 30, 10, 20]):
        ws.set_column(c, c, w)
    r = 0
    for f in b.files:
        r += 1
        ws.write_string(r, 0, f.file, fmt.text)
        ws.write_string(r, 1, STATUS_LABELS[f.status], fmt.text)
        ws.write_string(r, 2, f.reason, fmt.wrap)
        ws.write_string(r, 3, f.unit, fmt.text)
        ws.write_string(r, 4, f.level, fmt.text)
        ws.write(r, 5, f.year if f.year is not None else "", fmt.int)
        ws.write_string(r, 6, f.date, fmt.text)
        ws.write_string(r, 7, f.superseded_by, fmt.text)
        ws.write_number(r, 8, f.size, fmt.int)
        ws.write_string(r, 9, f.sha256, fmt.text)
    for e in b.not_submitted:
        r += 1
        ws.write_string(r, 0, "", fmt.text)
        ws.write_string(r, 1, "未提交", fmt.text)
        ws.write_string(r, 2, "设置文件中列为应报送单位，但没有收到受理的工作簿", fmt.wrap)
        ws.write_string(r, 3, e.unit, fmt.text)
        ws.write_string(r, 4, e.level, fmt.text)
        for c in range(5, 10):
            ws.write_blank(r, c, None, fmt.text)
    if r:
        ws.conditional_format(1, 1, r, 1, {"type": "cell", "criteria": "==", "value": '"拒收"', "format": fmt.err})
        ws.conditional_format(1, 1, r, 1, {"type": "cell", "criteria": "==", "value": '"未提交"', "format": fmt.warn})
    ws.autofilter(0, 0, max(r, 1), len(heads) - 1)
    ws.freeze_panes(1, 1)
    _setup(ws, 1)


def _about(wb, fmt: _Fmt, b: BatchResult, generated_at: str) -> None:
    ws = wb.add_worksheet("说明")
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 90)
    s = b.settings.describe()
    refs = s["references"]
    rows = [
        ("评价年度", str(s["year"])),
        ("评分依据", f"{b.rubric.standard} 附录A 表A.1（评分规则 {b.rubric.id} 版本 {b.rubric.version}）"),
        ("满分 / 合格线", f"{b.rubric.total} 分 / {b.rubric.pass_mark} 分"),
        *((about.label, refs.get(ref) or f"未提供（{'、'.join(b.rubric.reference_users(ref))} 按 0 分计）")
          for ref, about in REFERENCES.items()),
        ("合理缺项处理", "按比例折算" if s["na_policy"] == "prorate" else "按满分计入"),
        ("排名项前列比例", s["rank_fraction"]),
        ("未申报单位参考数据", f"{s['peer_reference']} 个单位"),
        ("应报送单位名册", f"{s['expected_units']} 个单位"),
        ("设置文件", str(s["source"])),
        ("输入文件夹", b.input_dir.name),
        ("文件数", f"{len(b.files)}（受理 {b.count('accepted')}，替代 {b.count('superseded')}，"
                   f"拒收 {b.count('rejected')}）"),
        ("生成时间（UTC）", generated_at),
        ("生成工具", f"qc-batch {__version__}"),
        ("说明", "各项得分按单位填报值重新计算，不采用工作簿内的公式结果；排名项按同级单位（市州、县市区分别）比较；"
                 "5.4 与第 11 类须由验收专家现场核定。"),
    ]
    ws.write_string(0, 0, f"{b.settings.year}年度质量强市（区、县）评价汇总：说明", fmt.title)
    for r, (k, v) in enumerate(rows, start=2):
        ws.write_string(r, 0, k, fmt.head)
        ws.write_string(r, 1, v, fmt.wrap)
    _setup(ws, 1, landscape=False)

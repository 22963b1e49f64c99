"""图表: the charts, one to a printed page, each level on its own; their figures on the hidden 图表数据.

A level with few units gets every unit's total against the pass line; a level with many
(about 140 县市区) gets the distribution of totals and its first and last units, so
every chart stays readable. Charts find their data by the headings of declared tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.outputs.comparison.table import FONT, NUMBER, Column, Formats, Page, Table, write_table
from qc_batch.outputs.report_data import ReportSet

SHEET = "图表"
DATA_SHEET = "图表数据"
ALL_UNITS_UP_TO = 30   # a level with more units is charted as a distribution and its first and last
FIRST_LAST = 20        # units in each of those two charts
BAND_STEPS = (10, 20, 25, 50, 100)
MAX_BANDS = 16
PRINT_COLS = 16               # columns A..P (64 px each) hold the charts; printed one page wide
CHART_W, CHART_H = 16 * 64 - 8, 560   # pixels: the printed width; the height leaves room on an A4 landscape page
ROWS_PER_PAGE = 31             # rows of 15 points (20 px) from one chart's page break to the next
COLOURS = ("#4472C4", "#ED7D31", "#A5A5A5", "#70AD47")
BELOW, ABOVE = "#E06666", "#4472C4"


@dataclass(frozen=True)
class Band:
    label: str
    below: int
    above: int


def bands(totals: Sequence[float], pass_mark: int, full: int) -> list[Band]:
    """Counts of totals in equal bands; the pass mark is always a band edge."""
    lo, hi = min(totals), max(totals)
    for step in BAND_STEPS:
        if pass_mark % step == 0 and (math.floor(hi / step) - math.floor(lo / step) + 1) <= MAX_BANDS:
            break
    start = math.floor(lo / step) * step
    count = max(1, math.floor(hi / step) - math.floor(lo / step) + 1)
    below, above = [0] * count, [0] * count
    for t in totals:
        k = min(count - 1, int((t - start) // step))
        (below if t < pass_mark else above)[k] += 1
    out = []
    for k in range(count):
        a = start + k * step
        b = min(full, a + step)
        label = f"{a}～{b}" if b == full else f"{a}～{b - 0.1:g}"
        out.append(Band(label, below[k], above[k]))
    return out


def _unit_columns(pass_mark: int) -> list[Column]:
    return [Column("单位", 16, lambda u: u.entry.unit),
            Column("总分", 8, lambda u: float(u.score.total), "total", kind=NUMBER),
            Column("合格线", 8, lambda _u: pass_mark, "int", kind=NUMBER)]


def _band_columns() -> list[Column]:
    return [Column("分数段", 14, lambda x: x.label),
            Column("低于合格线", 10, lambda x: x.below, "int", kind=NUMBER),
            Column("达到合格线", 10, lambda x: x.above, "int", kind=NUMBER)]


def _profile_columns(b: BatchResult, rs: ReportSet, levels: Sequence[str]) -> list[Column]:
    def rate(level: str):
        return lambda g: float(rs.peers[level].group_avg[g.number] / g.max)
    return [Column("类别", 24, lambda g: f"{g.number} {g.name}")] + [
        Column(level, 10, rate(level), "pct", kind=NUMBER) for level in levels]


class _Charts:
    def __init__(self, wb, fmts: Formats, page: Page, ws, data):
        self.wb, self.fmts, self.page, self.ws, self.data = wb, fmts, page, ws, data
        self.data_row = 0
        self.placed = 0

    def table(self, title: str, columns: list[Column], rows: Sequence) -> Table:
        self.data.write_string(self.data_row, 0, title, self.fmts.subtitle)
        t = write_table(self.data, self.fmts, columns, rows, top=self.data_row + 1, set_widths=self.data_row == 0)
        self.data_row = t.last + 3
        return t

    def place(self, chart, title: str) -> None:
        chart.set_title({"name": title, "name_font": {"name": FONT, "size": 13}})
        chart.set_legend({"position": "bottom", "font": {"name": FONT, "size": 9}})
        chart.set_size({"width": CHART_W, "height": CHART_H})
        row = 2 + self.placed * ROWS_PER_PAGE
        self.ws.insert_chart(row, 0, chart, {"object_position": 2})
        self.placed += 1

    def totals(self, title: str, t: Table, mark: int, full: int) -> None:
        chart = self.wb.add_chart({"type": "column"})
        chart.add_series({"name": "总分", "categories": t.range("单位"), "values": t.range("总分"),
                          "fill": {"color": COLOURS[0]}, "gap": 60,
                          "data_labels": {"value": True, "num_format": "0.0",
                                          "font": {"name": FONT, "size": 7}}})
        line = self.wb.add_chart({"type": "line"})
        line.add_series({"name": f"合格线 {mark} 分", "categories": t.range("单位"), "values": t.range("合格线"),
                         "line": {"color": "#C00000", "width": 2, "dash_type": "dash"},
                         "marker": {"type": "none"}})
        chart.combine(line)
        chart.set_x_axis({"num_font": {"name": FONT, "size": 9, "rotation": -45}})
        chart.set_y_axis({"min": 0, "max": full, "num_format": "0", "num_font": {"name": FONT, "size": 9},
                          "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        self.place(chart, title)

    def distribution(self, title: str, t: Table) -> None:
        chart = self.wb.add_chart({"type": "column", "subtype": "stacked"})
        for heading, colour in (("低于合格线", BELOW), ("达到合格线", ABOVE)):
            chart.add_series({"name": t.heading_cell(heading), "categories": t.range("分数段"),
                              "values": t.range(heading), "fill": {"color": colour}, "gap": 30})
        chart.set_x_axis({"name": "总分（分）", "name_font": {"name": FONT, "size": 9},
                          "num_font": {"name": FONT, "size": 9}})
        chart.set_y_axis({"name": "单位数", "name_font": {"name": FONT, "size": 9}, "min": 0, "num_format": "0",
                          "num_font": {"name": FONT, "size": 9}})
        self.place(chart, title)

    def profile(self, title: str, t: Table, levels: Sequence[str]) -> None:
        chart = self.wb.add_chart({"type": "bar"})
        for k, level in enumerate(levels):
            chart.add_series({"name": t.heading_cell(level), "categories": t.range("类别"), "values": t.range(level),
                              "fill": {"color": COLOURS[k % len(COLOURS)]}, "gap": 80})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "num_font": {"name": FONT, "size": 9},
                          "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        chart.set_y_axis({"reverse": True, "num_font": {"name": FONT, "size": 9}})
        self.place(chart, title)


def add_sheet(wb, fmts: Formats, page: Page):
    """The (still empty) 图表 sheet, added where it should sit among the sheets."""
    ws = wb.add_worksheet(SHEET)
    ws.write_string(0, 0, page.title(SHEET), fmts.title)
    ws.set_row(0, 24)
    return ws


def fill(wb, fmts: Formats, page: Page, ws, b: BatchResult, rs: ReportSet, units: Sequence[UnitResult]) -> int:
    """Write the charts' figures on a hidden last sheet and the charts on ``ws``; returns the number of charts."""
    data = wb.add_worksheet(DATA_SHEET)
    data.hide()
    c = _Charts(wb, fmts, page, ws, data)
    mark, full = b.rubric.pass_mark, b.rubric.total
    levels = [lv for lv in b.rubric.levels if lv in rs.peers]
    for level in levels:
        ranked = [u for u in units if u.entry.level == level and rs.peers[level].ranks.get(u.id) is not None]
        if not ranked:
            continue
        left_out = sum(1 for u in units if u.entry.level == level) - len(ranked)
        note = f"（不含 {left_out} 个不予受理单位）" if left_out else ""
        cols = _unit_columns(mark)
        if len(ranked) <= ALL_UNITS_UP_TO:
            title = f"{level}总分与合格线{note}"
            c.totals(title, c.table(title, cols, ranked), mark, full)
            continue
        title = f"{level}总分分布（{len(ranked)} 个单位）{note}"
        c.distribution(title, c.table(title, _band_columns(), bands([float(u.score.total) for u in ranked],
                                                                     mark, full)))
        title = f"{level}总分前 {FIRST_LAST} 名"
        c.totals(title, c.table(title, cols, ranked[:FIRST_LAST]), mark, full)
        title = f"{level}总分后 {FIRST_LAST} 名"
        c.totals(title, c.table(title, cols, ranked[-FIRST_LAST:]), mark, full)
    if levels:
        title = "各层级平均得分率（按类别）"
        c.profile(title, c.table(title, _profile_columns(b, rs, levels), b.rubric.groups), levels)
    last = max(2, 2 + c.placed * ROWS_PER_PAGE - 1)
    for r in range(1, last + 1):  # fixed heights: the page breaks fall where the charts end
        ws.set_row(r, 15)
    ws.set_column(0, PRINT_COLS - 1, 8.43)
    ws.set_h_pagebreaks([2 + k * ROWS_PER_PAGE for k in range(1, c.placed)])
    ws.print_area(0, 0, last, PRINT_COLS - 1)
    page.setup(ws, SHEET, landscape=True)
    if not c.placed:
        ws.write_string(2, 0, "没有可绘制的单位。", fmts.note)
    return c.placed

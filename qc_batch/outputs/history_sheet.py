"""The 历年 sheet of ``comparison.xlsx``: units × years (total, status, rank) and the province by year.

Written only when the history database holds an earlier year
(:class:`~qc_batch.history.audit.HistoryContext`). The top block gives, per year, the
number of units, how many passed and the average total, with a chart of the pass count
(columns) and the average (line); below it, one row per unit.
"""

from __future__ import annotations

from typing import Any

SHEET = "历年"
FONT = "宋体"
UNITS_FIRST_ROW = 18  # below the yearly block and its chart


def write_history_sheet(wb: Any, result: Any) -> bool:
    """Add the 历年 sheet to the xlsxwriter workbook ``wb``; False (no sheet) without earlier years."""
    ctx = getattr(result, "history", None)
    if ctx is None or not ctx.years or not ctx.timeline:
        return False
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
    border = {"border": 1, "border_color": "#A6A6A6"}

    def f(**kw):
        return wb.add_format({**base, **kw})

    head = f(bold=True, bg_color="#D9E1F2", text_wrap=True, align="center", **border)
    text, num = f(**border), f(num_format="0.0", **border)
    whole = f(num_format="0", align="center", **border)
    change = f(num_format="+0;-0;0", align="center", **border)
    change_pts = f(num_format="+0.0;-0.0;0", **border)
    title = f(bold=True, font_size=12)
    ws = wb.add_worksheet(SHEET)
    years = [s["year"] for s in ctx.year_stats]
    this, last = years[-1], years[-2]

    ws.write_string(0, 0, "全省历年情况（各年度以其现行记录为准，有专家核定值的年度取核定值）", title)
    ws.write_row(1, 0, ["年度", "参评单位数", "合格数", "平均总分"], head)
    for r, s in enumerate(ctx.year_stats, start=2):
        ws.write_number(r, 0, s["year"], whole)
        ws.write_number(r, 1, s["units"], whole)
        ws.write_number(r, 2, s["pass"], whole)
        if s["average"] is None:
            ws.write_blank(r, 3, None, num)
        else:
            ws.write_number(r, 3, float(s["average"]), num)
    n_years = len(ctx.year_stats)
    first, end = 2, 1 + n_years
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "合格单位数", "categories": [SHEET, first, 0, end, 0],
                      "values": [SHEET, first, 2, end, 2], "fill": {"color": "#70AD47"},
                      "data_labels": {"value": True, "position": "inside_end"}})
    line = wb.add_chart({"type": "line"})
    line.add_series({"name": "平均总分", "categories": [SHEET, first, 0, end, 0], "values": [SHEET, first, 3, end, 3],
                     "y2_axis": True, "marker": {"type": "circle"}, "line": {"color": "#C00000"},
                     "data_labels": {"value": True, "num_format": "0.0", "position": "above"}})
    chart.combine(line)
    chart.set_title({"name": "各年度合格单位数与平均总分", "name_font": {"name": FONT, "size": 11}})
    chart.set_x_axis({"name": "年度", "num_font": {"name": FONT}})
    most = max((s["units"] for s in ctx.year_stats), default=1)
    chart.set_y_axis({"name": "合格单位数", "min": 0, "max": most, "major_unit": max(1, -(-most // 5)),
                      "num_format": "0", "num_font": {"name": FONT}})
    line.set_y2_axis({"name": "平均总分", "min": 0, "max": result.rubric.total})
    chart.set_legend({"position": "bottom", "font": {"name": FONT}})
    chart.set_size({"width": 620, "height": 300})
    ws.insert_chart(1, 5, chart)

    top = max(UNITS_FIRST_ROW, end + 2)
    heads = ["单位", "层级", "所属市州"]
    for y in years:
        heads += [f"{y}年总分", f"{y}年结论", f"{y}年名次"]
    heads += [f"总分变化（{this}较{last}）", f"名次变化（{this}较{last}，正数为上升）"]
    ws.write_row(top, 0, heads, head)
    ws.set_row(top, 42)
    ws.set_column(0, 0, 16)
    ws.set_column(1, 2, 9)
    ws.set_column(3, len(heads) - 3, 9)
    ws.set_column(len(heads) - 2, len(heads) - 1, 14)
    for r, row in enumerate(ctx.timeline, start=top + 1):
        ws.write_string(r, 0, row["unit"], text)
        ws.write_string(r, 1, row["level"], text)
        ws.write_string(r, 2, row["parent"], text)
        for k, y in enumerate(years):
            c = 3 + 3 * k
            got = row["years"].get(y)
            if got is None:
                ws.write_string(r, c, "未报送", text)
                ws.write_blank(r, c + 1, None, text)
                ws.write_blank(r, c + 2, None, text)
                continue
            ws.write_number(r, c, float(got["total"]), num)
            ws.write_string(r, c + 1, got["status"], text)
            if got["rank"] is None:
                ws.write_string(r, c + 2, "—", whole)
            else:
                ws.write_number(r, c + 2, got["rank"], whole)
        now, before = row["years"].get(this), row["years"].get(last)
        c = 3 + 3 * len(years)
        if now and before:
            ws.write_number(r, c, float(now["total"] - before["total"]), change_pts)
        else:
            ws.write_blank(r, c, None, text)
        if now and before and now["rank"] is not None and before["rank"] is not None:
            ws.write_number(r, c + 1, before["rank"] - now["rank"], change)
        else:
            ws.write_blank(r, c + 1, None, text)
    bottom = top + len(ctx.timeline)
    ws.autofilter(top, 0, bottom, len(heads) - 1)
    ws.freeze_panes(top + 1, 1)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(top, top)
    ws.set_footer("&C&8第 &P 页，共 &N 页")
    return True

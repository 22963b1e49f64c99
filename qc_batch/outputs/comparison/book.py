"""``comparison.xlsx`` for bureau staff: the sheets in order, each a declared table (see ``table``).

Written with xlsxwriter; every sheet prints as a document: title row with year, stage and
date, page header and footer with page numbers, heading rows repeated on every page.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

from qc_batch import __version__
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.outputs.comparison import about, audit_sheets, charts, files, ranking, routine, scores
from qc_batch.outputs.comparison.table import Formats, Page
from qc_batch.outputs.history_sheet import SHEET as HISTORY_SHEET
from qc_batch.outputs.history_sheet import write_history_sheet
from qc_batch.outputs.report_data import ReportSet
from qc_batch.outputs.review_outputs import write_review_sheets
from qc_batch.outputs.stage import local_time, stage_label


def page_for(b: BatchResult, generated_at: str) -> Page:
    return Page(b.settings.year, stage_label(b), local_time(generated_at))


def ranked_units(b: BatchResult, rs: ReportSet) -> list[UnitResult]:
    """Units by level (the rubric's order), then rank within the level (unranked last), then name."""
    order = {lv: k for k, lv in enumerate(b.rubric.levels)}

    def key(u: UnitResult):
        rank = rs.peers[u.entry.level].ranks.get(u.id)
        return (order.get(u.entry.level, len(order)), rank is None, rank or 0, u.entry.unit)
    return sorted(b.units, key=key)


def write_comparison(path: Path, b: BatchResult, rs: ReportSet, generated_at: str) -> None:
    """Write ``comparison.xlsx`` at ``path`` from the batch and its peers' figures (``rs``)."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False, "in_memory": True})
    page = page_for(b, generated_at)
    wb.set_properties({"title": f"{b.settings.year}年度{page.subject}", "subject": page.stage,
                       "author": f"qc-batch {__version__}", "created": dt.datetime(2000, 1, 1)})
    fmts = Formats(wb)
    units = ranked_units(b, rs)
    ranking.write(wb, fmts, page, b, rs, units)
    chart_sheet = charts.add_sheet(wb, fmts, page)
    scores.write_indicators(wb, fmts, page, b, units)
    scores.write_groups(wb, fmts, page, b, rs, units)
    if write_history_sheet(wb, b):  # 历年: the earlier years, from the history database (when it has them)
        page.setup(wb.get_worksheet_by_name(HISTORY_SHEET), HISTORY_SHEET)  # A4, header, footer, page numbers
    audit_sheets.write(wb, fmts, page, units)
    routine.write(wb, fmts, page, b, units)
    files.write(wb, fmts, page, b)
    write_review_sheets(wb, fmts, page, b, rs, units)  # 现场评审: before/after, changes, files, 公示名单
    about.write(wb, fmts, page, b)
    charts.fill(wb, fmts, page, chart_sheet, b, rs, units)  # last: its figures sit on a hidden last sheet
    wb.close()

"""Sheets of ``comparison.xlsx`` as declared tables: a list of columns, rows from plain records.

A sheet is a list of :class:`Column` (heading, width, value function, number format,
conditional formats) and an iterable of records; :func:`write_table_sheet` writes the
title row, the heading row(s), the rows, the filter and the page setup, and returns a
:class:`Table` whose ranges charts look up by heading. Adding a column is one line.

Every cell that comes from a workbook is written with ``write_string`` when its column
is ``kind="text"`` (the default), so a unit name such as ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

FONT = "宋体"
LINE_HEIGHT = 14.5   # points per line of 10-point CJK text as LibreOffice and Excel lay it out
ROW_HEIGHT = 15.0    # a single line
TEXT, NUMBER, ANY = "text", "number", "any"
CJK_EXTRA = 0.43     # a CJK character of 10-point 宋体 is about 1.86 column-width units (ASCII: 1)


class Formats:
    """The workbook's cell formats, by name (the ``fmt`` of a column names one of them)."""

    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
        border = {"border": 1, "border_color": "#A6A6A6"}

        def f(**kw: Any):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=14)
        self.subtitle = f(bold=True, font_size=11)
        self.head = f(bold=True, bg_color="#D9E1F2", text_wrap=True, align="center", **border)
        self.text = f(**border)
        self.center = f(align="center", **border)
        self.wrap = f(text_wrap=True, **border)
        self.int = f(num_format="0", align="center", **border)
        self.count = f(num_format="#,##0", **border)
        self.pts = f(num_format="0.0#", **border)
        self.total = f(num_format="0.0", bold=True, **border)
        self.pct = f(num_format="0.0%", **border)
        self.diff = f(num_format="+0.0#;-0.0#;0", **border)
        self.decimal = f(num_format="0.0#########", align="left", **border)
        self.sub = f(num_format="0", italic=True, bg_color="#F2F2F2", align="center", **border)
        self.stat = f(num_format="0.0#", italic=True, bg_color="#F2F2F2", **border)
        self.note = f(text_wrap=True, valign="top")
        # conditional formats (colours only)
        self.pass_ = wb.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"})
        self.fail = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.veto = wb.add_format({"font_color": "#FFFFFF", "bg_color": "#7F7F7F"})
        self.err = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.warn = wb.add_format({"font_color": "#9C5700", "bg_color": "#FFEB9C"})
        self.red = wb.add_format({"font_color": "#C00000"})

    def get(self, name: str):
        return getattr(self, name)


@dataclass(frozen=True)
class Styled:
    """A cell value with its own format (by name), for a column whose cells differ."""

    value: Any
    fmt: str


@dataclass(frozen=True)
class Column:
    """One column: heading, width (characters), value of a record, format name, conditional formats.

    ``cond`` holds xlsxwriter conditional-format options applied to the column's data cells;
    a ``"format"`` given as a string names a :class:`Formats` attribute. ``sub`` is the
    column's value in a second heading row (e.g. an indicator's maximum points); ``stat``
    columns get the table's summary rows (average, maximum).
    """

    heading: str
    width: float
    value: Callable[[Any], Any]
    fmt: str = "text"
    cond: tuple[Mapping[str, Any], ...] = ()
    kind: str = TEXT
    sub: Any = None
    stat: bool = False
    comment: str = ""
    hidden: bool = False


@dataclass
class Table:
    """Where a written table sits: its charts and neighbours find ranges by heading."""

    sheet: str
    columns: Sequence[Column]
    head_row: int
    first: int   # first data row
    last: int    # last data row (first - 1 when there is none)
    left: int = 0
    index: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)  # summary label -> row

    @property
    def n(self) -> int:
        return self.last - self.first + 1

    def col(self, heading: str) -> int:
        try:
            return self.index[heading]
        except KeyError:
            raise KeyError(f"no column {heading!r} on sheet {self.sheet!r}") from None

    def range(self, heading: str, first: int = 0, count: int | None = None) -> list[Any]:
        """The data cells of a column (optionally ``count`` rows from the ``first``-th), for a chart."""
        c = self.col(heading)
        top = self.first + first
        bottom = self.last if count is None else min(self.last, top + count - 1)
        return [self.sheet, top, c, bottom, c]

    def heading_cell(self, heading: str) -> list[Any]:
        return [self.sheet, self.head_row, self.col(heading)]

    def cell(self, heading: str, k: int) -> str:
        """A1 reference of the ``k``-th data cell of a column."""
        return xl_rowcol_to_cell(self.first + k, self.col(heading))


@functools.lru_cache(maxsize=8192)
def text_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` characters wide (CJK counts two)."""
    if not text:
        return 1
    per_line = max(1.0, width - 1.0)
    lines = 0
    for part in text.split("\n"):
        n = len(part)
        wide = n + (len(part.encode("utf-8")) - n) * CJK_EXTRA  # a CJK character: 3 bytes, 1 + 2 * 0.43 wide
        lines += max(1, math.ceil(wide / per_line))
    return lines


_WRAPS = frozenset({"wrap", "head"})  # formats that wrap text


def write_table(ws, fmts: Formats, columns: Sequence[Column], rows: Iterable[Any], *, top: int = 0, left: int = 0,
                stats: Sequence[tuple[str, str]] = (), set_widths: bool = True, min_height: float = 0,
                breaks_by: Callable[[Any], Any] | None = None) -> Table:
    """Write headings at row ``top``, a sub-heading row when a column has ``sub``, the rows, then
    one summary row per ``(label, EXCEL_FUNCTION)`` in ``stats`` over the ``stat`` columns.

    Rows whose wrapped cells take more than one line are made tall enough to print them
    without overlap. ``breaks_by`` puts a page break where its value changes from row to row.
    """
    name = ws.get_name()
    table = Table(name, columns, top, top + 1, top, left,
                  {c.heading: left + k for k, c in enumerate(columns)})
    head = fmts.head
    lines = max((text_lines(c.heading, c.width) for c in columns), default=1)
    ws.set_row(top, LINE_HEIGHT * lines + 4)
    for k, c in enumerate(columns):
        ws.write_string(top, left + k, c.heading, head)
        if c.comment:
            ws.write_comment(top, left + k, c.comment, {"font_name": FONT})
        if set_widths:
            ws.set_column(left + k, left + k, c.width, None, {"hidden": True} if c.hidden else {})
    r = top + 1
    if any(c.sub is not None for c in columns):
        for k, c in enumerate(columns):
            if c.sub is None:
                ws.write_blank(r, left + k, None, fmts.sub)
            else:
                ws.write(r, left + k, c.sub, fmts.sub)
        r += 1
    table.first = r
    plan = []
    for k, c in enumerate(columns):
        fmt = fmts.get(c.fmt)
        write = ws.write_string if c.kind == TEXT else ws.write_number if c.kind == NUMBER else ws.write
        wrap = c.width if c.fmt in _WRAPS else 0
        plan.append((left + k, c.value, write, fmt, wrap, c.kind == ANY, [] if stats and c.stat else None))
    collect = {k: p[6] for k, p in enumerate(plan) if p[6] is not None}
    blank, set_row = ws.write_blank, ws.set_row
    breaks: list[int] = []
    last_key: Any = object()
    for rec in rows:
        lines = 1
        for c, value, write, fmt, wrap, any_kind, acc in plan:
            v = value(rec)
            if acc is not None:
                acc.append(v)
            if v is None or v == "":
                blank(r, c, None, fmt)
                continue
            if any_kind and isinstance(v, Styled):
                ws.write(r, c, v.value, fmts.get(v.fmt))
                continue
            write(r, c, v, fmt)
            if wrap and type(v) is str and len(v) * 2 > wrap - 1:
                lines = max(lines, text_lines(v, wrap))
        if lines > 1 or min_height:
            set_row(r, max(min_height, ROW_HEIGHT if lines == 1 else LINE_HEIGHT * lines + 2))
        if breaks_by is not None:
            key = breaks_by(rec)
            if key != last_key and r > table.first:
                breaks.append(r)
            last_key = key
        r += 1
    table.last = r - 1
    if breaks:
        ws.set_h_pagebreaks(breaks)
    if table.n > 0:
        for k, c in enumerate(columns):
            for opts in c.cond:
                opts = dict(opts)
                if isinstance(opts.get("format"), str):
                    opts["format"] = fmts.get(opts["format"])
                ws.conditional_format(table.first, left + k, table.last, left + k, opts)
        for label, func in stats:
            ws.write_string(r, left, label, fmts.stat)
            for k, acc in collect.items():
                values = [float(v) for v in acc if isinstance(v, (int, float))]
                cached = (sum(values) / len(values) if func == "AVERAGE" else max(values)) if values else 0
                ref = f"{xl_rowcol_to_cell(table.first, left + k)}:{xl_rowcol_to_cell(table.last, left + k)}"
                ws.write_formula(r, left + k, f"=IFERROR({func}({ref}),0)", fmts.stat, cached)
            table.stats[label] = r
            r += 1
    return table


@dataclass(frozen=True)
class Page:
    """What every sheet prints above and below its rows: year, stage and date of the run."""

    year: int
    stage: str      # Chinese label, e.g. 资料评审
    when: str       # local date and time of the run, e.g. 2026-01-01 08:00
    subject: str = "质量强市（区、县）评价汇总"

    def title(self, sheet: str) -> str:
        return f"{self.year}年度{self.subject}：{sheet}（{self.stage}，生成于 {self.when}）"

    def setup(self, ws, sheet: str, repeat: tuple[int, int] | None = None, *, landscape: bool = True,
              pages_wide: int = 1, fit: bool = True) -> None:
        """A4, fitted to ``pages_wide`` pages across, header and footer with page numbers."""
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        if fit:
            ws.fit_to_pages(pages_wide, 0)
        if repeat is not None:
            ws.repeat_rows(*repeat)
        ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.7)
        left = _escape(f"{self.year}年度{self.subject}")
        ws.set_header(f"&L&8 {left}&C&8 {_escape(sheet)}&R&8 {_escape(self.stage)}", {"margin": 0.3})
        ws.set_footer(f"&L&8 生成于 {_escape(self.when)}&C&8 第 &P 页，共 &N 页", {"margin": 0.3})


def _escape(text: str) -> str:
    return text.replace("&", "&&")


def write_table_sheet(wb: xlsxwriter.Workbook, fmts: Formats, page: Page, name: str, columns: Sequence[Column],
                      rows: Iterable[Any], *, stats: Sequence[tuple[str, str]] = (), freeze_cols: int = 1,
                      landscape: bool = True, pages_wide: int = 1, repeat_cols: int = 0,
                      breaks_by: Callable[[Any], Any] | None = None, filter: bool = True) -> tuple[Any, Table]:
    """A worksheet ``name``: the title row, the declared table under it, filter, panes, page setup.

    Returns the worksheet (to add more below the table) and the table (its ranges by heading).
    """
    ws = wb.add_worksheet(name)
    ws.write_string(0, 0, page.title(name), fmts.title)
    ws.set_row(0, 24)
    table = write_table(ws, fmts, columns, rows, top=1, stats=stats, breaks_by=breaks_by)
    if filter and columns:
        ws.autofilter(1, 0, max(table.last, table.first), len(columns) - 1)
    ws.freeze_panes(table.first, freeze_cols)
    page.setup(ws, name, (1, table.first - 1), landscape=landscape, pages_wide=pages_wide)
    if repeat_cols:
        ws.repeat_columns(0, repeat_cols - 1)
    return ws, table

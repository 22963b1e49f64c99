"""Cell formats and text measures shared by the score sheet's worksheets."""

from __future__ import annotations

import functools
import math
from typing import Any

import xlsxwriter

FONT = "宋体"
LINE_PT = 13.5
# Excel's limits for data validation texts; longer ones make Excel "repair" the file.
DV_TITLE_MAX = 32
DV_PROMPT_MAX = 255
DV_ERROR_MAX = 225

#: sheet protection without a password: inputs stay editable, rows and columns resizable
PROTECT = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "format_columns": True,
    "format_rows": True,
}

INPUT_BG = "#FFF2CC"      # light yellow: a cell to fill
MISSING_BG = "#F8CBAD"    # orange: a required cell still empty


@functools.lru_cache(maxsize=4096)
def text_width(s: str) -> int:
    """Display width in Excel character units: CJK and full-width count double."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


@functools.lru_cache(maxsize=4096)
def lines_needed(s: str, col_width: float) -> int:
    usable = max(col_width - 1, 1)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in str(s).split("\n"))


def clip(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


class Formats:
    """Every cell format of the score sheet, added once per workbook."""

    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True}
        border = {"border": 1, "border_color": "#808080"}

        def f(**kw: Any):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=16, align="center", text_wrap=False)
        self.subtitle = f(font_size=10, align="left", font_color="#404040", text_wrap=False)
        self.head = f(bold=True, align="center", bg_color="#D9E1F2", **border)
        self.cell = f(**border)
        self.center = f(align="center", **border)
        self.group = f(bold=True, align="center", bg_color="#F2F2F2", **border)
        self.note = f(font_size=10, align="left", font_color="#404040")
        self.method = f(**border)
        self.input = f(locked=False, bg_color=INPUT_BG, **border)
        # "General": a format like 0.#### shows 2026 as "2026." in Excel and WPS
        self.input_num = f(locked=False, bg_color=INPUT_BG, num_format="General", **border)
        self.input_date = f(locked=False, bg_color=INPUT_BG, num_format="yyyy-mm-dd", **border)
        self.input_text = f(locked=False, bg_color=INPUT_BG, num_format="@", **border)
        self.score = f(bold=True, align="center", num_format="General", bg_color="#E2EFDA", **border)
        self.score_big = f(bold=True, font_size=14, align="center", num_format="0.0",
                           bg_color="#E2EFDA", **border)
        self.hint = f(font_color="#C00000", **border)
        self.small = f(font_color="#404040")
        self.para = f()
        self.para_bold = f(bold=True)
        self.status = f(bold=True, font_size=14, align="center", **border)
        self.pct = f(num_format="0.0%", align="center", **border)
        self.missing_fill = wb.add_format({"bg_color": MISSING_BG})
        self.flagged = wb.add_format({"bg_color": "#FF9999", "border": 2, "border_color": "#C00000"})
        self.over_claim = wb.add_format({"bg_color": "#FF7C80", "bold": True})
        self.hidden = f(font_color="#808080", **border)

"""Reading one cell's raw content into a typed value, as the spec's table says.

Every reader takes whatever a workbook reader returned for a cell (``None``,
``str``, ``bool``, ``int``, ``float``, ``datetime``, ...) and returns a
:class:`Reading`: the typed value, or ``None`` with a Chinese reason. Readers
never raise, whatever the cell holds.

Numbers are exact: a float from a workbook is taken at its shortest decimal
representation (``0.995`` is 0.995, not 0.99499999...), so no binary drift
moves a value across a threshold.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from qc_batch.rubric.model import Input

#: Accepted words for 是 / 否 (compared after NFKC, trimming and case folding).
#: The score sheet's live formulas read the same lists (hidden sheet 选项与参数).
TRUE_WORDS = ("是", "有", "Y", "YES", "√", "TRUE", "1", "✓", "✔", "真")
FALSE_WORDS = ("否", "无", "N", "NO", "×", "FALSE", "0", "✗", "✘", "X", "假")
_TRUE = frozenset(w.casefold() for w in TRUE_WORDS)
_FALSE = frozenset(w.casefold() for w in FALSE_WORDS)

#: A percent is rounded to this many decimals (half-up) before comparison.
PCT_DECIMALS = 4

#: No number any input of the score sheet can hold is larger than this in magnitude (Excel
#: keeps 15 significant digits; the largest real figure, a GDP in 元, is about 1E+13) ...
MAX_MAGNITUDE = Fraction(10**15)
#: ... nor, other than 0, smaller (which also refuses Excel's denormals such as 5E-324).
MIN_MAGNITUDE = Fraction(1, 10**15)
#: Numeric text longer than this (after removing spaces) is not a number anyone typed.
MAX_NUMBER_CHARS = 40
#: Excel's limit on the characters of one cell; longer text is cut here by every reader.
MAX_CELL_CHARS = 32767

_MAX_SHOWN = 40
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?$")
#: C0 and C1 control characters except tab and line feed, and lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


@dataclass(frozen=True)
class Reading:
    """A typed cell value, or the reason it could not be read."""

    value: Any
    error: str | None = None
    raw: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def missing(self) -> bool:
        return self.value is None


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), trimmed, inner whitespace removed."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", text)


def shown(raw: Any) -> str:
    """The raw value as an official would recognise it in a message."""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float) and math.isfinite(raw) and raw == int(raw) and abs(raw) < 1e15:
        return str(int(raw))
    text = clean_text(str(raw)[: _MAX_SHOWN * 4], lines=False).strip()
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def in_bounds(x: Fraction) -> bool:
    """Whether ``x`` is 0 or between :data:`MIN_MAGNITUDE` and :data:`MAX_MAGNITUDE` in magnitude."""
    return not x or MIN_MAGNITUDE <= abs(x) <= MAX_MAGNITUDE


def _bounded(x: Fraction) -> Fraction | None:
    return x if in_bounds(x) else None


def _exact_float(x: float) -> Fraction | None:
    """``_bounded(Fraction(repr(x)))`` for a finite float, built without parsing text or comparing
    fractions where the result is plainly the same (most cells hold whole numbers or ordinary
    decimals, and ingest reads some 100 of them per workbook)."""
    if x.is_integer():  # below 2**53 a whole float is exactly its repr's integer
        return Fraction(int(x)) if abs(x) <= 1e15 else None
    text = repr(x)
    if "e" in text or not 1e-14 < abs(x) < 1e14:  # near a bound or in exponent form: the plain way
        return _bounded(Fraction(text))
    whole, _, decimals = text.partition(".")  # the shortest decimal, well inside the bounds
    return Fraction(int(whole + decimals), 10 ** len(decimals))


def exact_number(raw: Any) -> Fraction | None:
    """An exact number from a numeric cell or numeric text, else ``None``.

    Magnitudes no input can have (see :data:`MAX_MAGNITUDE`, :data:`MIN_MAGNITUDE`) are
    ``None`` too. Text is bounded in length and exponent before any exact conversion, so
    ``1e20000000`` costs nothing."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return _bounded(Fraction(raw)) if abs(raw) <= MAX_MAGNITUDE else None
    if isinstance(raw, float):
        if not math.isfinite(raw) or (raw and not 1e-16 < abs(raw) < 1e16):
            return None
        return _exact_float(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite() or (raw and not -17 <= raw.adjusted() <= 16):
            return None
        return _bounded(Fraction(raw))
    if isinstance(raw, Fraction):
        return _bounded(raw)
    if isinstance(raw, str):
        if len(raw) > 4 * MAX_NUMBER_CHARS:
            return None
        text = normalize(raw)
        if len(text) > MAX_NUMBER_CHARS:
            return None
        if _GROUPED_RE.match(text):
            text = text.replace(",", "")
        if _NUMBER_RE.match(text):
            try:
                return exact_number(Decimal(text))
            except (InvalidOperation, ValueError, OverflowError):
                return None
    return None


def out_of_bounds(raw: Any) -> bool:
    """Whether ``raw`` is a number (or numeric text) that :func:`exact_number` refuses for its size."""
    if isinstance(raw, bool):
        return False
    if isinstance(raw, str):
        text = normalize(raw[: 4 * MAX_NUMBER_CHARS + 1])
        return bool(re.fullmatch(r"[+-]?[\d.,]+([eE][+-]?\d+)?", text)) and (
            len(text) > MAX_NUMBER_CHARS or re.search(r"[eE][+-]?\d{5}", text) is not None
            or (_NUMBER_RE.match(text) is not None and exact_number(text) is None))
    if isinstance(raw, (int, float, Decimal, Fraction)):
        return exact_number(raw) is None and not (isinstance(raw, float) and math.isnan(raw))
    return False


def clean_text(text: str, *, lines: bool = True) -> str:
    """``text`` without control characters (tab and line feed kept when ``lines``), lone
    surrogates as U+FFFD, cut to :data:`MAX_CELL_CHARS`."""
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS]
    if _CONTROL.search(text) is not None:
        text = _CONTROL.sub(lambda m: "\ufffd" if "\ud800" <= m[0] <= "\udfff" else "", text)
    if not lines and ("\n" in text or "\t" in text):
        text = re.sub(r"[\t\n]+", " ", text)
    return text


def round_half_up(x: Fraction, places: int) -> Fraction:
    """Round half away from zero to ``places`` decimals, exactly."""
    scaled = abs(x) * 10**places
    n = scaled.numerator // scaled.denominator
    if scaled - n >= Fraction(1, 2):
        n += 1
    return Fraction(n if x >= 0 else -n, 10**places)


def _bad(raw: Any, expected: str) -> Reading:
    if out_of_bounds(raw):
        return Reading(None, f"填写的是“{shown(raw)}”，数值超出合理范围（绝对值应为 0 或在 1E-15 与 1E+15 之间）；"
                             f"应填写{expected}", raw)
    return Reading(None, f"填写的是“{shown(raw)}”，应填写{expected}", raw)


def read_bool(raw: Any, expected: str = "“是”或“否”") -> Reading:
    if is_blank(raw):
        return Reading(None, None, raw)
    if isinstance(raw, bool):
        return Reading(raw, None, raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if raw == 1:
            return Reading(True, None, raw)
        if raw == 0:
            return Reading(False, None, raw)
        return _bad(raw, expected)
    word = normalize(str(raw)).casefold()
    if word in _TRUE:
        return Reading(True, None, raw)
    if word in _FALSE:
        return Reading(False, None, raw)
    return _bad(raw, expected)


def read_tier(inp: Input, raw: Any) -> Reading:
    """The option's letter: the dropdown text starts with it; a bare letter is fine."""
    if is_blank(raw):
        return Reading(None, None, raw)
    text = normalize(str(raw))
    letters = {o.letter: o for o in inp.options}
    for o in inp.options:
        if text == normalize(o.display):
            return Reading(o.letter, None, raw)
    first = text[:1].upper()
    rest = text[1:2]
    if first in letters and not (rest.isascii() and rest.isalpha()):
        return Reading(first, None, raw)
    return _bad(raw, inp.expected_text())


def read_pct(inp: Input, raw: Any) -> Reading:
    """A percent 0..100 (Fraction): 0..1 is a fraction, above 1 already a percent."""
    if is_blank(raw):
        return Reading(None, None, raw)
    value: Fraction | None
    if isinstance(raw, str):
        text = normalize(raw)
        if text.endswith("%"):
            value = exact_number(text[:-1])
        else:
            value = exact_number(text)
            if value is not None and value <= 1:
                value *= 100
    else:
        value = exact_number(raw)
        if value is not None and value <= 1:
            value *= 100
    if value is None:
        return _bad(raw, inp.expected_text())
    value = round_half_up(value, PCT_DECIMALS)
    if value < 0 or value > 100:
        return Reading(None, f"填写的是“{shown(raw)}”，超出 0～100% 的范围；应填写{inp.expected_text()}", raw)
    return Reading(value, None, raw)


def _whole(raw: Any) -> Fraction | None:
    if isinstance(raw, str):
        text = normalize(raw)
        text = re.sub(r"^第", "", text)
        text = re.sub(r"(名|个|项|次|家|人)$", "", text)
        return exact_number(text)
    return exact_number(raw)


def read_count(inp: Input, raw: Any) -> Reading:
    """int (>= 0) and rank (>= 1): whole numbers only."""
    if is_blank(raw):
        return Reading(None, None, raw)
    value = _whole(raw)
    if value is None or value.denominator != 1 or value < inp.lower or (inp.positive and value == 0):
        return _bad(raw, inp.expected_text())
    return Reading(value, None, raw)


def read_num(inp: Input, raw: Any) -> Reading:
    if is_blank(raw):
        return Reading(None, None, raw)
    text_unit = None
    if isinstance(raw, str) and inp.unit:
        text_unit = normalize(raw).removesuffix(normalize(inp.unit))
    value = exact_number(text_unit if text_unit is not None else raw)
    if value is None:
        return _bad(raw, inp.expected_text())
    if value < 0 or (inp.positive and value == 0):
        return _bad(raw, inp.expected_text())
    if inp.upper is not None and value > inp.upper:
        return _bad(raw, inp.expected_text())
    return Reading(value, None, raw)


def read_value(inp: Input, raw: Any) -> Reading:
    """Read ``raw`` as input ``inp`` of the rubric. Never raises."""
    try:
        if inp.kind == "bool":
            return read_bool(raw)
        if inp.kind == "tier":
            return read_tier(inp, raw)
        if inp.kind == "pct":
            return read_pct(inp, raw)
        if inp.kind in ("int", "rank"):
            return read_count(inp, raw)
        return read_num(inp, raw)
    except (ValueError, TypeError, ArithmeticError, InvalidOperation):
        # Only what a conversion of an odd value may raise: a time bound (a BaseException) or
        # MemoryError must reach the caller.
        return _bad(raw, inp.expected_text())


def read_text(raw: Any) -> str | None:
    """Free text (names, evidence lists); ``None`` when blank."""
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and math.isfinite(raw) and raw == int(raw) and abs(raw) < 1e15:
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(sep=" ")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = clean_text(str(raw)).strip()
    return text or None


def read_year(raw: Any) -> Reading:
    """An evaluation year such as 2026 (number, or text 2026 / 2026年 / 2026年度)."""
    if is_blank(raw):
        return Reading(None, None, raw)
    value = exact_number(raw) if not isinstance(raw, str) else None
    if isinstance(raw, str):
        text = normalize(raw)
        text = re.sub(r"年度?$", "", text)
        value = exact_number(text)
    if value is None or value.denominator != 1 or not 2000 <= value <= 2100:
        return _bad(raw, "四位数的年度，如 2026")
    return Reading(int(value), None, raw)


_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def read_date_value(raw: Any) -> Reading:
    """填报日期: a date cell, an Excel serial number, or text 2026-03-15 / 2026年3月15日."""
    if is_blank(raw):
        return Reading(None, None, raw)
    if isinstance(raw, dt.datetime):
        return Reading(raw.date(), None, raw)
    if isinstance(raw, dt.date):
        return Reading(raw, None, raw)
    try:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            if math.isfinite(raw) and 1 <= raw < 2958466:
                return Reading(_EXCEL_EPOCH + dt.timedelta(days=int(raw)), None, raw)
        elif isinstance(raw, str):
            text = normalize(raw)
            m = _DATE_RE.match(text)
            if m is None and re.fullmatch(r"\d{8}", text):
                m = re.match(r"(\d{4})(\d{2})(\d{2})", text)
            if m is not None:
                return Reading(dt.date(int(m[1]), int(m[2]), int(m[3])), None, raw)
    except (ValueError, OverflowError):
        pass
    return _bad(raw, "日期，如 2026-03-15")

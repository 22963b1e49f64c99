"""What ingest checks in a workbook's raw values before typing them (docs/security.md).

- Text that is not valid Unicode (lone surrogates, from ``_xD800_`` escapes) becomes
  U+FFFD, with a finding on the cell (``TEXT_INVALID_CHAR``).
- A formula in a cell where a value is typed (an input, a 不予受理 answer, a 自评分) is
  not scored: Excel shows what the formula computes, the file holds a cached result
  anyone can write, and ingest trusts no cached result. The cell counts as blank, with
  one finding that shows the formula and the cached value (``INPUT_FORMULA``). In a
  header cell the cached text is kept (nothing is scored from it), with the same finding.
- Unit, 市州 and level names are normalised before they identify anything: NFKC, no
  control, zero-width or bidirectional formatting characters, one space at most
  (``HEADER_NAME_NORMALISED`` keeps the name as entered); a name longer than any real
  name (:data:`MAX_NAME_CHARS`) refuses the file (``HEADER_NAME_TOO_LONG``).
- A 填报日期 after the day of the run is flagged (``DATE_IN_FUTURE``) and does not make a
  workbook win a duplicate (:func:`effective_date`).
- One-line header fields (联系人, 电话, 邮箱) lose line breaks, tabs and control characters.
- File names are listed in a spelling that can always be printed and encoded
  (:func:`display_name`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qc_batch import codes
from qc_batch.engine.findings import Finding
from qc_batch.read.cells import clean_text, shown
from qc_batch.rubric.model import Rubric
from qc_batch.sheet import names as sn

#: The longest unit or 市州 name accepted (the longest real one, 湘西土家族苗族自治州, has 10).
MAX_NAME_CHARS = 60
NAME_FIELDS = ("QC_UNIT", "QC_PARENT", "QC_LEVEL")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Characters that never belong in a name: controls, zero-width and bidi formatting, BOM.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                        "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]")


def clean_name(text: str) -> str:
    """A unit, 市州 or level name as it identifies the unit: NFKC, no invisible characters, no
    whitespace between Chinese characters, other inner whitespace one space, trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    text = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", text)  # 长沙 市 is 长沙市
    return re.sub(r"\s+", " ", text).strip()


def visible(text: str, limit: int = 80) -> str:
    """``text`` with every invisible or control character spelled out (<U+200B>), for messages."""
    out = []
    for ch in text[:limit]:
        if _INVISIBLE.match(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(text) > limit else "")


def display_name(name: str) -> str:
    """A file name as listed in the results: always valid, printable Unicode.

    A name that is not UTF-8 (a Windows zip unpacked on Linux gives GBK bytes, which Python
    holds as surrogate escapes) is decoded as GB18030 when it can be, else its odd bytes are
    shown as ``\\xNN``; control and bidirectional formatting characters become U+FFFD."""
    if _SURROGATE.search(name):
        raw = os.fsencode(name)
        try:
            name = raw.decode("gb18030")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "backslashreplace")
        name = _SURROGATE.sub("\ufffd", name)
    return re.sub("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", "\ufffd", name)


def effective_date(date: str, today: dt.date | None = None) -> str:
    """The 填报日期 (ISO text) as it counts between two workbooks of one unit: none when it lies
    after ``today``."""
    today = today or dt.date.today()
    return "" if date and date > today.isoformat() else date


@dataclass
class Screened:
    """Raw values after the checks, the findings they gave, and a reason to refuse the file."""

    values: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    refused: tuple[str, str] | None = None   # (code, Chinese reason)
    not_scored: frozenset[str] = frozenset()  # cells (e.g. 评分表!H12) whose formula is not scored


def _labels(rubric: Rubric) -> dict[str, tuple[str, str, str]]:
    """Defined name -> (label, indicator code, input code) for every cell a value is typed in."""
    out: dict[str, tuple[str, str, str]] = {h.name: (h.label, "", "") for h in sn.HEADER_FIELDS}
    for k in range(1, len(rubric.vetoes) + 1):
        out[sn.veto_name(k)] = (f"不予受理情形 {k}", "", "")
    for ind in rubric.indicators:
        out[ind.claim_name] = (f"指标 {ind.code} 自评分", ind.code, "")
        out[ind.evidence_name] = (f"指标 {ind.code} 佐证材料", ind.code, "")
        for inp in ind.inputs:
            out[inp.name] = (inp.full_label, ind.code, inp.code)
    return out


def screen(rubric: Rubric, values: Mapping[str, Any], formulas: Mapping[str, tuple[str, Any]],
           cells: Mapping[str, str], today: dt.date | None = None) -> Screened:
    """Check the raw values of one workbook (``formulas``: named cells holding a formula where a
    value is typed, name -> (formula, cached value); ``cells``: name -> cell address)."""
    labels = _labels(rubric)
    out = dict(values)
    findings: list[Finding] = []
    for name, value in values.items():
        if isinstance(value, str) and _SURROGATE.search(value):
            count = len(_SURROGATE.findall(value))
            out[name] = _SURROGATE.sub("\ufffd", value)
            label, ind, inp = labels.get(name, (name, "", ""))
            findings.append(Finding(codes.TEXT_INVALID_CHAR.code, codes.TEXT_INVALID_CHAR.message(label=label, count=count),
                                    ind, inp, cells.get(name, ""), shown(out[name])))
    not_scored = set()
    headers = {h.name for h in sn.HEADER_FIELDS}
    evidence = {ind.evidence_name for ind in rubric.indicators}
    for name, (formula, cached) in formulas.items():
        if name not in labels or name in evidence:
            continue
        label, ind, inp = labels[name]
        if name not in headers:
            out[name] = None
            not_scored.add(cells.get(name, ""))
        findings.append(Finding(
            codes.INPUT_FORMULA.code,
            codes.INPUT_FORMULA.message(label=label, formula=shown(formula) or "（共享公式）",
                                        cached="空白" if cached is None else f"“{shown(cached)}”"),
            ind, inp, cells.get(name, ""), shown(cached) if cached is not None else ""))
    for h in sn.HEADER_FIELDS:  # one-line fields: no line breaks or tabs reach a mail header or a terminal
        if h.kind in ("text", "email") and h.name not in NAME_FIELDS and isinstance(out.get(h.name), str):
            out[h.name] = clean_text(out[h.name], lines=False)
    for name in NAME_FIELDS:
        value = out.get(name)
        if not isinstance(value, str):
            continue
        entered = value.strip()
        name_clean = clean_name(value)
        label = labels[name][0]
        if len(name_clean) > MAX_NAME_CHARS:
            reason = codes.HEADER_NAME_TOO_LONG.message(field=label, length=len(name_clean),
                                                        cell=cells.get(name, ""), limit=MAX_NAME_CHARS)
            return Screened(out, findings, (codes.HEADER_NAME_TOO_LONG.code, reason))
        out[name] = name_clean
        if name_clean != entered and name != "QC_LEVEL":
            findings.append(Finding(codes.HEADER_NAME_NORMALISED.code,
                                    codes.HEADER_NAME_NORMALISED.message(field=label, entered=visible(entered),
                                                                         name=name_clean),
                                    cell=cells.get(name, ""), value=visible(entered)))
    return Screened(out, findings, None, frozenset(not_scored))


def date_findings(date: dt.date | None, cells: Mapping[str, str], today: dt.date | None = None) -> list[Finding]:
    """``DATE_IN_FUTURE`` when the 填报日期 lies after ``today``."""
    today = today or dt.date.today()
    if not isinstance(date, dt.date) or date <= today:
        return []
    return [Finding(codes.DATE_IN_FUTURE.code, codes.DATE_IN_FUTURE.message(date=date.isoformat(),
                                                                            today=today.isoformat()),
                    cell=cells.get("QC_DATE", ""), value=date.isoformat())]


#: Findings a cell whose formula is not scored would otherwise also get (it reads as blank).
_BLANK_CODES = frozenset({codes.INPUT_MISSING.code, codes.CLAIM_MISSING.code, codes.VALUE_UNREADABLE.code})


def merge(findings: Iterable[Finding], screened: Screened) -> list[Finding]:
    """The audit's findings with the screen's: one finding for a cell whose formula is not scored."""
    kept = [f for f in findings if not (f.cell and f.cell in screened.not_scored and f.code in _BLANK_CODES)]
    return kept + screened.findings

"""Numbers typed as text: the batch reads them; the unit is told to make them numbers.

The score sheet's live formulas read the same texts (see
:func:`qc_batch.rubric.excel_formula.read_formula`), but a number cell is what
every spreadsheet program reads alike, so each such entry gets a 提示 on its cell,
and the returned workbook holds the number (:mod:`qc_batch.outputs.returned_patch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from qc_batch import codes
from qc_batch.engine.findings import Finding
from qc_batch.read.cells import shown
from qc_batch.rubric.model import Input, Rubric

NUMERIC = ("pct", "int", "rank", "num")


def number_text(inp: Input, value: Fraction) -> str:
    """The value as the batch scored it: 81.5%, 3, 1234.5万元."""
    text = f"{float(value):.10g}" if value.denominator != 1 else str(value.numerator)
    if inp.kind == "pct":
        return text + "%"
    return text + (inp.unit or "")


def text_number_findings(rubric: Rubric, data, cells: Mapping[str, str]) -> list[Finding]:
    """A TEXT_NUMBER 提示 for every numeric input the batch read from text."""
    out = []
    for inp in rubric.inputs:
        r = data.readings[inp.code]
        if inp.kind in NUMERIC and r.ok and r.value is not None and isinstance(r.raw, str):
            out.append(Finding(codes.TEXT_NUMBER.code,
                               codes.TEXT_NUMBER.message(label=inp.full_label, value=shown(r.raw),
                                                         read=number_text(inp, r.value)),
                               inp.indicator, inp.code, cells.get(inp.name, ""), shown(r.raw)))
    return out

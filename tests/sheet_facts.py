"""Random but deterministic contents for a score sheet's input cells.

Values cluster on the rubric's own thresholds (read from the rubric, not
written here) so that the boundaries are exercised: exactly on a threshold,
just above, just below, as a percent and as a fraction, plus blank and
out-of-range cells. Used by the real-client test and the ingest tests.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from qc_batch.read.cells import FALSE_WORDS, TRUE_WORDS
from qc_batch.rubric.excel_formula import ref_name
from qc_batch.rubric.model import Input, Rubric, expr
from qc_batch.sheet import names as sn

ROUND_BASES = (1000, 25000, 100000, 350000, 1200)


def _ratio_pairs(rubric: Rubric) -> dict[str, tuple[str, str, Fraction, list[Any]]]:
    """Compared ratios ``x / y [* k] OP t``: numerator code -> (x, y, k, thresholds)."""
    out: dict[str, tuple[str, str, Fraction, list[Any]]] = {}

    def walk(ind_code: str, n: expr.Node) -> None:
        if isinstance(n, expr.Compare):
            left, k = n.left, Fraction(1)
            if isinstance(left, expr.Arith) and left.op == "*" and isinstance(left.right, expr.Num):
                left, k = left.left, left.right.value
            if (isinstance(left, expr.Arith) and left.op == "/" and isinstance(left.left, expr.Var)
                    and isinstance(left.right, expr.Var)):
                x = f"{ind_code}.{left.left.name}"
                y = f"{ind_code}.{left.right.name}"
                t = n.right.value if isinstance(n.right, expr.Num) else n.right
                entry = out.setdefault(x, (x, y, k, []))
                entry[3].append(t)
        for c in expr.children(n):
            walk(ind_code, c)

    for ind in rubric.indicators:
        for part in ind.parts:
            for case in part.cases:
                walk(ind.code, case.when)
    return out


def _number(rng: random.Random, lo: float, hi: float) -> float:
    return round(rng.uniform(lo, hi), rng.choice((0, 1, 2, 4)))


def _pct(inp: Input, rng: random.Random, thresholds: tuple[Fraction, ...]) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.12:
        return rng.choice((120, -1, 100.5, "约95%", "未统计"))
    if thresholds and roll < 0.7:
        t = rng.choice(thresholds)
        v = float(t + Fraction(rng.choice((0, 0, 1, -1, 5, -5, 50, -50)), 100))
        v = min(100.0, max(0.0, v))
    else:
        v = _number(rng, 0, 100)
    if v > 1 and rng.random() < 0.35:
        return float(Fraction(repr(v)) / 100)  # what a percent-formatted cell stores
    return v


def _count(inp: Input, rng: random.Random, thresholds: tuple[Fraction, ...]) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.12:
        return rng.choice((2.5, -1, 0 if inp.kind == "rank" or inp.positive else -3, "三个"))
    if thresholds and roll < 0.6:
        return max(0, int(rng.choice(thresholds)) + rng.choice((-1, 0, 0, 1, 2)))
    return rng.randint(1 if inp.kind == "rank" else 0, 15)


def _ref_value(rng: random.Random, base: Fraction) -> float | None:
    if rng.random() < 0.2:
        return None
    return float(base * Fraction(rng.choice((50, 100, 100, 150, 300)), 100))


REF_BASES = {
    "export_notification_ratio_national": Fraction("0.0031"),
    "special_equipment_death_rate_national": Fraction("0.13"),
}


def random_sheet(rubric: Rubric, rng: random.Random) -> dict[str, Any]:
    """``{defined name: raw cell value}`` for every input, veto and reference cell."""
    refs = {name: _ref_value(rng, base) for name, base in REF_BASES.items()}
    ratios = _ratio_pairs(rubric)
    denominators = {y for (_x, y, _k, _t) in ratios.values()}
    cells: dict[str, Any] = {ref_name(k): v for k, v in refs.items()}
    values: dict[str, Any] = {}
    for inp in rubric.inputs:
        if inp.code in denominators:
            continue
        th = rubric.thresholds(inp.code)
        if inp.kind == "bool":
            v = rng.choice(("是", "否", "是", "否", None, *TRUE_WORDS[1:4], *FALSE_WORDS[1:3]))
        elif inp.kind == "tier":
            o = rng.choice(inp.options)
            v = rng.choice((o.display, o.display, o.letter, o.letter.lower(), None))
        elif inp.kind == "pct":
            v = _pct(inp, rng, th)
        elif inp.kind in ("int", "rank"):
            v = _count(inp, rng, th)
        else:
            v = None if rng.random() < 0.08 else _number(rng, 0, 100 if inp.upper else 5000)
            if rng.random() < 0.03:
                v = "不详"
            if inp.upper is not None and v is not None and rng.random() < 0.3:
                v = float(inp.upper)
        values[inp.code] = v
    for x, (_x, y, k, targets) in ratios.items():
        if rng.random() < 0.07:
            values[y] = None
            continue
        base = rng.choice(ROUND_BASES)
        t = rng.choice(targets)
        if isinstance(t, expr.Ref):
            tv = refs.get(t.name)
            t = Fraction(repr(tv)) if tv is not None else Fraction(1, 1000)
        y_kind = rubric.input(y).kind
        values[y] = base
        exact = t * base / k
        x_value = exact + Fraction(rng.choice((0, 0, 1, -1)), 10) if rng.random() < 0.6 else exact * 2
        if rubric.input(x).kind == "int" or y_kind == "int":
            x_value = Fraction(round(x_value))
        values[x] = float(max(Fraction(0), x_value))
    for inp in rubric.inputs:
        cells[inp.name] = values.get(inp.code)
    for k in range(1, len(rubric.vetoes) + 1):
        cells[sn.veto_name(k)] = "是" if rng.random() < 0.04 else rng.choice(("否", "否", None))
    return cells

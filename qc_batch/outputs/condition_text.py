"""Conditions in words, for a unit: what its own figures came to against a rule's threshold.

``report_data.part_text`` and ``how_to_earn`` say what a part rewards and how
to earn it, the same for every unit; this module adds, for one unit, the
figure it reached (1.3: "按填报值计算为 0.99996，需 ≥ 1") and words a tier
without repeating its points.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from qc_batch.rubric import expr
from qc_batch.rubric.model import Indicator, Part

_OP = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}


def figure(v: Fraction) -> str:
    """A figure as an official reads it: whole numbers plain, others with up to 6 significant digits
    (never rounded onto the threshold: 0.99996 stays 0.99996)."""
    if v.denominator == 1:
        return str(v.numerator)
    for digits in range(6, 16):
        text = f"{float(v):.{digits}g}"
        if Fraction(text) != 0 or v == 0:
            return text
    return f"{float(v):g}"


def _derived(node: expr.Node) -> bool:
    return isinstance(node, (expr.Arith, expr.Func))


def computed_text(part: Part, values: Mapping[str, Any], refs: Mapping[str, Fraction | None]) -> str:
    """For a part whose rule compares a computed figure (a ratio, a rate) with a threshold, what the
    unit's figures came to: "按填报值计算为 0.99996，需 ≥ 1"; "" when nothing is computed or known."""
    compares = _compares(part)
    if not compares:
        return ""
    env = expr.Env(values, refs)
    need = "需" if len(part.cases) == 1 else "得满分需"  # the first case is the full points'
    seen: list[str] = []
    for n in compares:
        left, right = expr.evaluate(n.left, env), expr.evaluate(n.right, env)
        if isinstance(left, Fraction) and isinstance(right, Fraction):
            text = f"按填报值计算为 {figure(left)}，{need} {_OP[n.op]} {figure(right)}"
            if text not in seen:
                seen.append(text)
    return "；".join(seen)


def _compares(part: Part) -> tuple[expr.Compare, ...]:
    """The comparisons of a computed figure in the part's full-points rule, in reading order: the
    same for every unit, so found once per part (most parts have none, and their text is "")."""
    def find() -> tuple[expr.Compare, ...]:
        out: list[expr.Compare] = []

        def walk(n: expr.Node) -> None:
            if isinstance(n, expr.Compare) and _derived(n.left):
                out.append(n)
            for c in expr.children(n):
                walk(c)

        walk(part.cases[0].when)
        return tuple(out)

    return part.memo(_compares, find)


def tier_choice(ind: Indicator, letter: str | None) -> str:
    """The chosen option in words, without its points (the report states the points beside it)."""
    if letter is None:
        return "未选择档次"
    option = next((o for o in ind.inputs[0].options if o.letter == letter), None)
    if option is None:
        return f"当前档次 {letter}"
    text = option.display.removeprefix(option.letter).strip()
    text = text.removesuffix(f"（{option.points}分）").strip()
    return f"当前档次 {option.letter}：{text}" if text else f"当前档次 {option.letter}"

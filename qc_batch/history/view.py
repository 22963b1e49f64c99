"""What a unit's report and ``results.json`` show of its latest earlier year."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from qc_batch.history.audit import HistoryContext
from qc_batch.history.store import STAGE_LABELS


def previous_of(history: HistoryContext | None, unit_id: str) -> dict[str, Any] | None:
    """``results.json``'s ``units[].previous``: the unit's latest earlier year, or ``None``."""
    p = history.previous.get(unit_id) if history is not None else None
    return None if p is None else p.to_dict()


def _signed(x: Fraction) -> str:
    if x == 0:
        return "持平"
    text = f"{abs(float(x)):.2f}".rstrip("0").rstrip(".")
    return f"+{text}" if x > 0 else f"−{text}"


def _words(x: Fraction) -> str:
    if x == 0:
        return "持平"
    text = f"{abs(float(x)):.2f}".rstrip("0").rstrip(".")
    return f"增加 {text} 分" if x > 0 else f"减少 {text} 分"


def report_previous(result: Any, u: Any, rank: int | None) -> dict[str, Any] | None:
    """The report's lines on last year, or ``None`` (then the report says nothing of it):
    last year's total, status and rank, the change of the total and of the rank, and the
    change per group (group number -> text such as ``+5`` or ``持平``)."""
    history = getattr(result, "history", None)
    p = history.previous.get(u.id) if history is not None else None
    if p is None:
        return None
    total = Fraction(str(u.score.total))
    before = Fraction(p.total)
    moved = None
    if rank is not None and p.rank is not None:
        moved = p.rank - rank  # places gained (positive) or lost
    return {
        "year": p.year, "total": p.total, "status": p.status, "rank": p.rank, "ranked": p.ranked,
        "source": STAGE_LABELS[p.stage],
        "change": _words(total - before),
        "rank_change": None if moved is None else ("名次不变" if moved == 0 else
                                                   f"上升 {moved} 名" if moved > 0 else f"下降 {-moved} 名"),
        "groups": {g.number: _signed(u.score.group_points(g.number) - p.groups.get(g.number, Fraction(0)))
                   for g in result.rubric.groups},
    }

"""The report's 现场评审 section: the panel, its changes with reasons and the points they moved.

For a batch at the final stage only; :mod:`qc_batch.outputs.report_data` adds it to each
unit's view (``review``), and the report template shows it before the 失分项.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from qc_batch import codes
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.engine.audit import fmt_points

FINAL = "final"
#: findings that say a verified value was not applied (on a review's cell)
UNAPPLIED = (codes.REVIEW_REASON_MISSING.code, codes.VALUE_UNREADABLE.code)
SHA_SHOWN = 16

Stats = Callable[[BatchResult], Mapping[str, Any]]  # report_data.peer_stats


def is_final(b: BatchResult) -> bool:
    return getattr(b, "stage", "document") == FINAL


_RANKS: list[tuple[BatchResult, dict[str, int | None]]] = []  # the last batch's, computed once for all reports


def document_ranks(b: BatchResult, stats: Stats) -> dict[str, int | None]:
    """Unit id -> rank within its level on the document-review totals, ranked by ``stats``
    (:func:`qc_batch.outputs.report_data.peer_stats`) as the reports rank the final ones."""
    if _RANKS and _RANKS[0][0] is b:
        return _RANKS[0][1]
    docs = [u.document or u for u in b.units]
    out: dict[str, int | None] = {}
    for peers in stats(replace(b, units=docs)).values():
        out.update(peers.ranks)
    _RANKS[:] = [(b, out)]
    return out


def _pts(x: Fraction | None) -> str:
    return "" if x is None else fmt_points(x)


def report_review(b: BatchResult, u: UnitResult, rank: int | None, stats: Stats) -> dict[str, Any] | None:
    """The report's 现场评审 section of one unit (None at the document stage or without a review)."""
    r, doc = u.review, u.document
    if not is_final(b) or r is None or doc is None:
        return None
    ranks = document_ranks(b, stats)
    unapplied = [f for f in u.findings if f.code in UNAPPLIED and f.name.startswith("QR_")]
    return {
        "file": r.file, "sha256": r.sha256[:SHA_SHOWN], "experts": r.experts or "（未填写）",
        "date": r.date or "（未填写）", "opinion": r.opinion,
        "document_total": f"{doc.score.total}", "document_status": doc.score.status,
        "document_rank": ranks.get(u.id), "rank": rank,
        "changes": [{"input": c.input, "label": c.label, "submitted": c.submitted, "verified": c.verified,
                     "reason": c.reason, "before": _pts(c.points_before), "after": _pts(c.points_after)}
                    for c in r.changes],
        "unapplied": [f.message for f in unapplied],
    }



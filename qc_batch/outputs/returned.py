"""``returned/<unit>_审核.xlsx``: the unit's sheet handed back for correction.

The current template re-filled with the unit's own values (not a re-save of
the unit's file), each finding attached to its cell as a comment with a red
highlight, and a first sheet 审核结果 listing the findings and the
recomputed scores (:mod:`qc_batch.outputs.returned_audit`). An official
corrects it and sends it again; ingest reads it like any other sheet (the
extra sheet changes no defined name).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from qc_batch import codes
from qc_batch.batch.run import UnitResult
from qc_batch.engine.scoring import Policy
from qc_batch.outputs.returned_audit import SHEET_AUDIT, audit_rows, audit_sheet
from qc_batch.outputs.returned_patch import patched_workbook, returned_fill
from qc_batch.rubric.model import Rubric
from qc_batch.sheet.writer import write_score_sheet

__all__ = ["SHEET_AUDIT", "notes_for", "write_returned", "write_returned_plain"]

NOTE_MAX = 1000


def notes_for(u: UnitResult) -> dict[str, str]:
    """One comment per named cell, joining the findings on it."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for f in u.findings:
        if f.name and f.code != codes.RANKED_ITEM.code:
            by_name[f.name].append(f"【{f.severity}】{f.message}")
    out = {}
    for name, msgs in by_name.items():
        text = "审核意见：\n" + "\n".join(msgs)
        out[name] = text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…"
    return out


def write_returned_plain(path: Path, u: UnitResult, rubric: Rubric, policy: Policy, view: dict[str, Any]) -> None:
    """The reference writer: the whole workbook through xlsxwriter (about 50 ms a unit)."""
    fill = returned_fill(u, rubric, policy, notes_for(u))
    fill.extra_sheet = audit_sheet(audit_rows(u, rubric, view))
    write_score_sheet(path, rubric, policy=policy, fill=fill)


def write_returned(path: Path, u: UnitResult, rubric: Rubric, policy: Policy, view: dict[str, Any]) -> None:
    """The fast writer: the same workbook as :func:`write_returned_plain`, patched from a base."""
    path.write_bytes(patched_workbook(u, rubric, policy, notes_for(u), audit_rows(u, rubric, view)))

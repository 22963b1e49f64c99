"""Apply the panel's verified facts to the accepted submissions (现场评审).

The experts correct facts, never points: a verified value replaces the submitted one
only when it is readable (the score sheet's reading rules) and carries a reason.
Otherwise the submitted value stands and the review gets an 错误 finding on its cell;
an expert-rated input (5.4, group 11) left blank gets a 警告. The result is a new
:class:`~qc_batch.batch.ingest.Sheet` per reviewed unit, scored by the same engine from
the verified facts; the batch then ranks every unit again (a corrected count moves
the peers' bands too) and :func:`settle` records the points each change moved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from qc_batch import codes
from qc_batch.batch.ingest import FileEntry, Sheet
from qc_batch.codes import ACCEPTED
from qc_batch.engine.audit import name_findings, unit_findings
from qc_batch.engine.findings import Finding
from qc_batch.engine.scoring import Policy, rank_values, score_unit, sheet_bands
from qc_batch.errors import EXIT_IO, UserError
from qc_batch.read import cells as readers
from qc_batch.read.cells import Reading
from qc_batch.read.sheet_data import SheetData
from qc_batch.review import names as rn
from qc_batch.review.reader import Review, read_reviews, unit_key
from qc_batch.rubric.model import Input, Rubric, load_rubric
from qc_batch.sheet import names as sn


@dataclass(frozen=True)
class Change:
    """One fact the panel replaced."""

    input: str            # input code ("2.6.b"), or "veto.k" for the k-th 不予受理 question
    label: str
    indicator: str        # indicator code ("" for a veto answer)
    submitted: str        # as the submission's cell showed it
    verified: str         # as the review's cell showed it
    reason: str
    cell: str             # the review cell, e.g. "现场评审!J40"
    submitted_cell: str   # the submission's cell, e.g. "评分表!H40"
    points_before: Fraction | None = None  # the indicator's points in the document review
    points_after: Fraction | None = None   # ... and in the final result

    def to_dict(self, num) -> dict[str, Any]:
        return {"input": self.input, "label": self.label, "indicator": self.indicator,
                "submitted": self.submitted, "verified": self.verified, "reason": self.reason,
                "cell": self.cell, "submitted_cell": self.submitted_cell,
                "points_before": num(self.points_before), "points_after": num(self.points_after)}


@dataclass
class ReviewRecord:
    """What one accepted review did to its unit: the audit trail of the final result."""

    file: str
    sha256: str
    submission_file: str
    submission_sha256: str
    experts: str
    date: str
    opinion: str
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)   # on the review's cells

    def to_dict(self, num) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "submission_file": self.submission_file,
                "submission_sha256": self.submission_sha256, "experts": self.experts, "date": self.date,
                "opinion": self.opinion, "changes": [c.to_dict(num) for c in self.changes]}


@dataclass
class ReviewOutcome:
    files: list[FileEntry]                       # every file of the review folder
    sheets: list[Sheet]                          # the winners, reviewed ones replaced
    records: dict[str, ReviewRecord]             # submission file name -> its review

    @property
    def applied(self) -> bool:
        return bool(self.records)

    def settle(self, units: Iterable[Any], documents: Mapping[str, Any]) -> None:
        """Record on each change the points of its indicator before and after the review.

        ``units`` are the final :class:`~qc_batch.batch.run.UnitResult` objects (with ``review``
        set); ``documents`` maps a unit id to its document-review result."""
        for u in units:
            record = u.review
            if record is None:
                continue
            doc = documents[u.id]
            record.changes = [
                c if not c.indicator else replace(c, points_before=doc.score.indicators[c.indicator].points,
                                                  points_after=u.score.indicators[c.indicator].points)
                for c in record.changes
            ]


def stage_for(option: str | None, settings: Any, settings_file: Path) -> Callable[[list[Sheet]], ReviewOutcome] | None:
    """The review stage of a run: the ``--reviews`` folder, else the settings' ``reviews:`` (relative to the
    settings file), else none (document review only). Raises :class:`UserError` when the folder is missing."""
    folder = Path(option) if option else None
    if folder is None and settings.extra.get("reviews"):
        folder = settings_file.parent / settings.extra["reviews"]
    if folder is None:
        return None
    if not folder.is_dir():
        raise UserError(f"找不到现场评审表文件夹 {folder}；请用 --reviews 指定专家组填写的评审表所在的文件夹", EXIT_IO)
    return reviewer(folder, load_rubric(), settings.year, settings.policy)


def reviewer(folder: Path, rubric: Rubric, year: int, policy: Policy) -> Callable[[list[Sheet]], ReviewOutcome]:
    """The review stage for :func:`qc_batch.batch.run.run_batch` (its ``review`` argument)."""
    return functools.partial(review_batch, folder, rubric, year, policy)


def review_batch(folder: Path, rubric: Rubric, year: int, policy: Policy, winners: list[Sheet]) -> ReviewOutcome:
    """Read the review folder and apply each accepted review to its unit's sheet."""
    accepted = {unit_key(s.entry, rubric): s.entry for s in winners}
    found = read_reviews(folder, rubric, year, accepted)
    sheets, records = [], {}
    for s in winners:
        review = found.reviews.get(unit_key(s.entry, rubric))
        if review is None:
            sheets.append(s)
            continue
        new, record = apply_review(rubric, policy, s, review)
        sheets.append(new)
        records[s.entry.file] = record
    return ReviewOutcome(found.files, sheets, records)


def _veto_input(rubric: Rubric) -> Input:
    return rubric.input(rubric.indicators[1].inputs[0].code)  # any bool input reads 是/否


def _shown(r: Reading | None) -> str:
    if r is None or readers.is_blank(r.raw):
        return "（空白）"
    return readers.shown(r.raw)


def apply_review(rubric: Rubric, policy: Policy, sheet: Sheet, review: Review) -> tuple[Sheet, ReviewRecord]:
    """The sheet with the review's verified facts, scored again; and the review's record."""
    data = sheet.data
    e = review.entry
    record = ReviewRecord(e.file, e.sha256, review.submission_file, review.submission_sha256,
                          review.experts, review.date, review.opinion)
    readings = dict(data.readings)
    raw = dict(data.raw)
    expert = {i.code for i in rn.expert_rated(rubric)}
    for inp in rubric.inputs:
        got = _verify(record, review, inp.code, inp.full_label, inp.indicator, data.readings[inp.code],
                      rn.value_name(inp), rn.reason_name(inp), lambda v, i=inp: readers.read_value(i, v),
                      sheet.cells.get(inp.name, ""), inp.code in expert)
        if got is not None:
            readings[inp.code] = got
            raw[inp.name] = got.raw
    vetoes = list(data.vetoes)
    yes_no = _veto_input(rubric)
    for k, text in enumerate(rubric.vetoes, start=1):
        name = sn.veto_name(k)
        got = _verify(record, review, rn.veto_code(k), f"不予受理情形{k}：{text}", "", data.vetoes[k - 1],
                      rn.veto_name(k), rn.veto_reason_name(k), lambda v: readers.read_value(yes_no, v),
                      sheet.cells.get(name, ""), False)
        if got is not None:
            vetoes[k - 1] = got
            raw[name] = got.raw
    verified = SheetData(data.header, readings, tuple(vetoes), data.claims, data.evidence, raw)
    facts = verified.facts
    score = score_unit(rubric, facts, verified.veto_values, policy, sheet_bands(rubric, facts))
    findings = _audit_again(rubric, policy, sheet, verified, score)
    findings += name_findings([_change_finding(c, record) for c in record.changes], sheet.cells)
    findings += record.findings
    new = replace(sheet, entry=replace(sheet.entry, status=ACCEPTED), data=verified, score=score,
                  figures=rank_values(rubric, facts), findings=findings)
    return new, record


def _audit_again(rubric: Rubric, policy: Policy, sheet: Sheet, verified: SheetData, score: Any) -> list[Finding]:
    """The sheet's findings with the audit of its facts done again on the verified ones.

    The findings ingest made from the workbook itself (screening of raw cells, dates) stay;
    those the audit made from the submitted facts are replaced by those of the verified facts."""
    not_ranked = [ind for ind in rubric.indicators if not ind.is_ranked]

    def audit(data: SheetData, s: Any) -> list[Finding]:
        return name_findings(unit_findings(rubric, data, s, policy, sheet.cells, sheet.overwritten, not_ranked),
                             sheet.cells)

    before = set(audit(sheet.data, sheet.score))
    kept = set(sheet.findings)
    dropped = before - kept  # what ingest set aside (e.g. a blank reported on a cell holding a formula)
    return [f for f in audit(verified, score) if f not in dropped] + [f for f in sheet.findings if f not in before]


def _verify(record: ReviewRecord, review: Review, code: str, label: str, indicator: str, submitted: Reading,
            value_name: str, reason_name: str, read, submitted_cell: str, expert: bool) -> Reading | None:
    """The verified reading of one fact, or None when the submitted one stands."""
    raw = review.values.get(value_name)
    cell = review.cells.get(value_name, "")
    where = f"现场评审表“{review.entry.file}”{cell}"
    shown_label = label if not indicator else f"{code} {label}"
    if readers.is_blank(raw):
        if expert:
            record.findings.append(Finding(
                codes.REVIEW_EXPERT_BLANK.code,
                codes.REVIEW_EXPERT_BLANK.message(label=shown_label, where=where, submitted=_shown(submitted)),
                indicator, code, cell, "", "", value_name))
        return None
    got = read(raw)
    if not got.ok:
        record.findings.append(Finding(
            codes.VALUE_UNREADABLE.code,
            f"{where}：{shown_label} 的核定值{got.error}；该核定未采用，仍按填报值“{_shown(submitted)}”计分",
            indicator, code, cell, readers.shown(raw), "", value_name))
        return None
    if got.value == submitted.value:
        return None  # confirmed, in other words
    reason = readers.read_text(review.values.get(reason_name)) or ""
    if not reason:
        record.findings.append(Finding(
            codes.REVIEW_REASON_MISSING.code,
            codes.REVIEW_REASON_MISSING.message(
                label=shown_label, where=where, verified=readers.shown(raw), submitted=_shown(submitted),
                reason_cell=review.cells.get(reason_name, "")),
            indicator, code, cell, readers.shown(raw), "", value_name))
        return None
    record.changes.append(Change(code, label, indicator, _shown(submitted), readers.shown(raw), reason, cell,
                                 submitted_cell))
    return got


def _change_finding(c: Change, record: ReviewRecord) -> Finding:
    """The change as a finding on the submission's cell: the returned workbook shows it as a comment."""
    panel = "、".join(x for x in (record.experts, record.date) if x) or "专家组"
    return Finding(codes.REVIEW_CHANGED.code,
                   codes.REVIEW_CHANGED.message(label=f"{c.input} {c.label}" if c.indicator else c.label,
                                                submitted=c.submitted, verified=c.verified, reason=c.reason,
                                                panel=panel, file=record.file),
                   c.indicator, c.input, c.submitted_cell, c.verified, "", "")



def summary_lines(b: Any) -> list[str]:
    """What the command line says of the review stage of batch ``b`` (nothing without a review folder)."""
    files = getattr(b, "reviews", [])
    if not files:
        return []
    n = {s: sum(1 for f in files if f.status == s) for s in (codes.ACCEPTED, codes.SUPERSEDED, codes.REJECTED)}
    stage = "资料评审＋现场评审" if getattr(b, "stage", "") == "final" else "资料评审（未采用任何现场评审表）"
    lines = [f"现场评审表 {len(files)} 个：受理 {n[codes.ACCEPTED]}，被新版本替代 {n[codes.SUPERSEDED]}，"
             f"拒收 {n[codes.REJECTED]}。结果阶段：{stage}。"]
    lines += [f"  拒收评审表 {f.file}：{f.reason}" for f in files if f.status == codes.REJECTED]
    unapplied = [(u.entry.unit, f) for u in b.units for f in u.findings
                 if f.code in (codes.REVIEW_REASON_MISSING.code, codes.VALUE_UNREADABLE.code) and f.name.startswith("QR_")]
    lines += [f"  未采用的核定（{unit}）：{f.message}" for unit, f in unapplied]
    return lines

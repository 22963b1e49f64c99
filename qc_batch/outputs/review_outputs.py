"""What ``comparison.xlsx`` shows of the on-site review (现场评审), for a batch at the final stage.

- ``comparison.xlsx``: 评审前后对比 (document-review total and rank beside the final ones),
  现场评审调整 (every change, its reason, the points it moved, and the changes not applied),
  评审文件 (every file of the review folder and its outcome) and 公示名单 (the result list for
  publication, per level in rank order, with total and verdict) (:func:`write_review_sheets`).

Nothing here is written for a batch at the document stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from qc_batch import codes
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.outputs.comparison.table import ANY, Column, Formats, Page, write_table, write_table_sheet
from qc_batch.outputs.report_data import ReportSet, peer_stats
from qc_batch.outputs.review_report import SHA_SHOWN, UNAPPLIED, document_ranks, is_final

# -- comparison.xlsx --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRow:
    level: str
    unit: str
    parent: str
    doc_total: float
    doc_status: str
    doc_rank: int | None
    total: float
    status: str
    rank: int | None
    review: str
    changes: int

    @property
    def rank_change(self) -> str:
        if self.doc_rank is None or self.rank is None or self.doc_rank == self.rank:
            return "" if self.doc_rank == self.rank else "—"
        d = self.doc_rank - self.rank
        return f"↑{d}" if d > 0 else f"↓{-d}"


@dataclass(frozen=True)
class ChangeRow:
    unit: str
    indicator: str
    input: str
    label: str
    submitted: str
    verified: str
    reason: str
    before: float | None
    after: float | None
    applied: str
    experts: str
    date: str
    file: str


def unit_rows(b: BatchResult, rs: ReportSet, units: list[UnitResult]) -> list[UnitRow]:
    ranks = document_ranks(b, peer_stats)
    out = []
    for u in units:
        doc = u.document or u
        r = u.review
        out.append(UnitRow(u.entry.level, u.entry.unit, u.entry.parent, float(doc.score.total), doc.score.status,
                           ranks.get(u.id), float(u.score.total), u.score.status,
                           rs.peers[u.entry.level].ranks.get(u.id), r.file if r else "未经现场评审",
                           len(r.changes) if r else 0))
    return out


def change_rows(b: BatchResult, units: list[UnitResult]) -> list[ChangeRow]:
    labels = {i.code: i.full_label for i in b.rubric.inputs}
    out = []
    for u in units:
        r = u.review
        if r is None:
            continue
        for c in r.changes:
            out.append(ChangeRow(u.entry.unit, c.indicator, c.input, c.label, c.submitted, c.verified, c.reason,
                                 None if c.points_before is None else float(c.points_before),
                                 None if c.points_after is None else float(c.points_after), "已采用",
                                 r.experts, r.date, r.file))
        for f in u.findings:
            if f.code in UNAPPLIED and f.name.startswith("QR_"):
                label = labels.get(f.input, "")
                out.append(ChangeRow(u.entry.unit, f.indicator, f.input, label, "", f.value, f.message, None, None,
                                     f"未采用：{codes.get(f.code).title}", r.experts, r.date, r.file))
    return out


def _unit_columns() -> list[Column]:
    moved = ({"type": "text", "criteria": "begins with", "value": "↓", "format": "fail"},
             {"type": "text", "criteria": "begins with", "value": "↑", "format": "pass_"})
    return [
        Column("层级", 7, lambda r: r.level, "center"),
        Column("单位", 16, lambda r: r.unit),
        Column("所属市州", 12, lambda r: r.parent),
        Column("资料评审总分", 10, lambda r: r.doc_total, "total", kind=ANY),
        Column("资料评审结论", 10, lambda r: r.doc_status, "center"),
        Column("资料评审名次", 8, lambda r: r.doc_rank, "int", kind=ANY),
        Column("最终总分", 10, lambda r: r.total, "total", kind=ANY),
        Column("最终结论", 10, lambda r: r.status, "center"),
        Column("最终名次", 8, lambda r: r.rank, "int", kind=ANY),
        Column("名次变化", 8, lambda r: r.rank_change, "center", cond=moved),
        Column("总分变化", 9, lambda r: r.total - r.doc_total, "diff", kind=ANY),
        Column("核定修改项数", 8, lambda r: r.changes, "int", kind=ANY),
        Column("现场评审表", 28, lambda r: r.review, "wrap"),
    ]


def _change_columns() -> list[Column]:
    applied = ({"type": "text", "criteria": "begins with", "value": "未采用", "format": "err"},)
    return [
        Column("单位", 14, lambda r: r.unit),
        Column("指标", 6, lambda r: r.indicator, "center"),
        Column("填报项", 8, lambda r: r.input, "center"),
        Column("填报项目", 30, lambda r: r.label, "wrap"),
        Column("报送值", 16, lambda r: r.submitted, "wrap"),
        Column("核定值", 16, lambda r: r.verified, "wrap"),
        Column("核定理由", 30, lambda r: r.reason, "wrap"),
        Column("调整前得分", 9, lambda r: r.before, "pts", kind=ANY),
        Column("调整后得分", 9, lambda r: r.after, "pts", kind=ANY),
        Column("调整分值", 9, lambda r: None if r.before is None else r.after - r.before, "diff", kind=ANY),
        Column("是否采用", 16, lambda r: r.applied, "wrap", cond=applied),
        Column("专家组", 16, lambda r: r.experts, "wrap"),
        Column("评审日期", 11, lambda r: r.date),
        Column("现场评审表", 24, lambda r: r.file, "wrap"),
    ]


def _file_columns() -> list[Column]:
    rejected = ({"type": "cell", "criteria": "==", "value": f'"{codes.STATUS_LABELS[codes.REJECTED]}"',
                 "format": "err"},)
    return [
        Column("文件", 30, lambda f: f.file, "wrap"),
        Column("结果", 9, lambda f: codes.STATUS_LABELS[f.status], "center", cond=rejected),
        Column("原因类别", 18, lambda f: codes.get(f.reason_code).title if f.reason_code in codes.CATALOGUE else "",
               "wrap"),
        Column("原因", 56, lambda f: f.reason, "wrap"),
        Column("单位", 14, lambda f: f.unit),
        Column("评审日期", 11, lambda f: f.date),
        Column("以此文件为准", 24, lambda f: f.superseded_by, "wrap"),
        Column(f"SHA-256（前 {SHA_SHOWN} 位）", 18, lambda f: f.sha256[:SHA_SHOWN]),
    ]


def _publish_columns() -> list[Column]:
    return [
        Column("名次", 7, lambda r: r.rank if r.rank is not None else "—", "int", kind=ANY),
        Column("单位", 22, lambda r: r.unit),
        Column("所属市州", 16, lambda r: r.parent),
        Column("总分", 10, lambda r: r.total, "total", kind=ANY),
        Column("评价结论", 12, lambda r: r.status, "center"),
    ]


def write_review_sheets(wb, fmts: Formats, page: Page, b: BatchResult, rs: ReportSet,
                        units: list[UnitResult]) -> None:
    """The final stage's sheets of ``comparison.xlsx`` (nothing at the document stage)."""
    if not is_final(b):
        return
    rows = unit_rows(b, rs, units)
    write_table_sheet(wb, fmts, page, "评审前后对比", _unit_columns(), rows, freeze_cols=2)
    write_table_sheet(wb, fmts, page, "现场评审调整", _change_columns(), change_rows(b, units), freeze_cols=1)
    write_table_sheet(wb, fmts, page, "评审文件", _file_columns(), b.reviews, freeze_cols=1)
    _publication(wb, fmts, page, b, rows)


def _publication(wb, fmts: Formats, page: Page, b: BatchResult, rows: list[UnitRow]) -> None:
    """公示名单: a titled list the bureau can publish as it is, per level in rank order."""
    name = "公示名单"
    ws = wb.add_worksheet(name)
    ws.set_column(0, 4, None)
    title = f"{b.settings.year}年度质量强市（区、县）评价结果公示名单"
    ws.merge_range(0, 0, 0, 4, title, fmts.get("title"))
    ws.set_row(0, 28)
    ws.merge_range(1, 0, 1, 4, f"依据{b.rubric.standard}，经资料评审和现场评审，"
                               f"总分 {b.rubric.pass_mark} 分及以上为合格（满分 {b.rubric.total} 分）。"
                               "按层级、名次排列；存在不予受理情形的单位不参与排名。", fmts.get("note"))
    ws.set_row(1, 46)
    row = 3
    for level in b.rubric.levels:
        block = [r for r in rows if r.level == level]
        if not block:
            continue
        ws.merge_range(row, 0, row, 4, f"{level}（{len(block)} 个）", fmts.get("subtitle"))
        table = write_table(ws, fmts, _publish_columns(), block, top=row + 1)
        row = table.last + 2
    ws.merge_range(row, 0, row, 4, f"{b.settings.year}年　　月　　日", fmts.get("note"))
    page.setup(ws, name, None, landscape=False)
    ws.print_area(0, 0, row, 4)

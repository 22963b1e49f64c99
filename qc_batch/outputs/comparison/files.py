"""文件清单: every file of the input folder and its outcome, then the expected units that sent nothing."""

from __future__ import annotations

from dataclasses import dataclass

from qc_batch import codes
from qc_batch.batch.run import BatchResult
from qc_batch.outputs.comparison.table import ANY, Column, Formats, Page, Table, write_table_sheet

SHEET = "文件清单"
NOT_SUBMITTED = "未提交"
NOT_SUBMITTED_REASON = "设置文件中列为应报送单位，但没有收到受理的工作簿"
#: the 原因类别 column: the reason's Chinese title, then its code (as results.json has it)
REASONS = {c.code: f"{c.title}（{c.code}）" for c in codes.file_reasons()}
SHA_SHOWN = 16  # hex digits of the SHA-256 shown (results.json has all of them)


@dataclass(frozen=True)
class FileRow:
    file: str = ""
    outcome: str = ""
    reason_title: str = ""
    reason: str = ""
    unit: str = ""
    level: str = ""
    year: int | None = None
    date: str = ""
    superseded_by: str = ""
    size: int | None = None
    sha256: str = ""


def rows(b: BatchResult) -> list[FileRow]:
    out = [FileRow(f.file, codes.STATUS_LABELS[f.status],
                   REASONS.get(f.reason_code, f.reason_code), f.reason,
                   f.unit, f.level, f.year, f.date, f.superseded_by, f.size, f.sha256[:SHA_SHOWN])
           for f in b.files]
    out += [FileRow(outcome=NOT_SUBMITTED, reason=NOT_SUBMITTED_REASON, unit=e.unit, level=e.level)
            for e in b.not_submitted]
    return out


def columns() -> list[Column]:
    outcome = tuple({"type": "cell", "criteria": "==", "value": f'"{label}"', "format": fmt}
                    for label, fmt in ((codes.STATUS_LABELS[codes.REJECTED], "err"), (NOT_SUBMITTED, "warn")))
    return [
        Column("文件", 30, lambda r: r.file, "wrap"),
        Column("结果", 9, lambda r: r.outcome, "center", cond=outcome),
        Column("原因类别", 20, lambda r: r.reason_title, "wrap"),
        Column("原因", 48, lambda r: r.reason, "wrap"),
        Column("单位", 14, lambda r: r.unit),
        Column("层级", 7, lambda r: r.level, "center"),
        Column("年度", 6, lambda r: r.year, "int", kind=ANY),
        Column("填报日期", 11, lambda r: r.date),
        Column("以此文件为准", 26, lambda r: r.superseded_by, "wrap"),
        Column("大小（字节）", 11, lambda r: r.size, "count", kind=ANY),
        Column(f"SHA-256（前 {SHA_SHOWN} 位）", 18, lambda r: r.sha256),
    ]


def write(wb, fmts: Formats, page: Page, b: BatchResult) -> Table:
    _ws, table = write_table_sheet(wb, fmts, page, SHEET, columns(), rows(b), freeze_cols=1)
    return table

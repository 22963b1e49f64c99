"""Read the review workbooks of a folder, with the same safety and manifest rules as submissions.

Every file of the folder gets exactly one :class:`~qc_batch.batch.ingest.FileEntry`:
``accepted``, ``superseded`` (a later review of the same unit and year won: the later
评审日期, then the later file time), or ``rejected`` with a stable code and a Chinese reason
(not a workbook or unsafe, not a review workbook, names deleted, another year, a unit that
was not accepted, or a review of a submission that is not the accepted one: its SHA-256
differs). Files are read by :func:`qc_batch.read.workbook.read_workbook`, the reader of
submissions (size, zip-bomb and XML checks), and found by their ``QR_...`` names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qc_batch import codes
from qc_batch.batch.ingest import FILE_TIMEOUT_S, FileEntry, FileTimeout, discover, time_limit
from qc_batch.codes import ACCEPTED, REJECTED, SUPERSEDED
from qc_batch.read import cells as readers
from qc_batch.read.workbook import WorkbookError, check_size, read_workbook
from qc_batch.review import names as rn
from qc_batch.rubric.model import Rubric

UnitKey = tuple[str, str, str]  # (level, parent, unit)


@dataclass(frozen=True)
class Review:
    """An accepted review workbook: who, when, and the panel's raw cells."""

    entry: FileEntry                   # unit, level, parent, year; date = 评审日期
    submission_file: str
    submission_sha256: str
    experts: str
    date: str
    opinion: str
    values: Mapping[str, Any] = field(default_factory=dict)  # QR_ name -> raw cell value
    cells: Mapping[str, str] = field(default_factory=dict)   # QR_ name -> "现场评审!J12"

    @property
    def key(self) -> UnitKey:
        e = self.entry
        return (e.level, e.parent, e.unit)


@dataclass(frozen=True)
class ReviewFolder:
    files: list[FileEntry]             # every file of the folder and what became of it
    reviews: dict[UnitKey, Review]     # the accepted review of each unit


def unit_key(entry: FileEntry, rubric: Rubric) -> UnitKey:
    return (entry.level, entry.parent if entry.level == rubric.county_level else "", entry.unit)


def read_reviews(folder: Path, rubric: Rubric, year: int, accepted: Mapping[UnitKey, FileEntry]) -> ReviewFolder:
    """Read every file of ``folder``; ``accepted`` maps each accepted unit to its submission."""
    decided, paths = discover(folder)
    files = list(decided)
    candidates: list[Review] = []
    for path in paths:
        got = read_review(path, rubric, year, accepted)
        if isinstance(got, Review):
            candidates.append(got)
        else:
            files.append(got)
    reviews, superseded = _latest(candidates)
    files += superseded + [r.entry for r in reviews.values()]
    files.sort(key=lambda e: e.file)
    return ReviewFolder(files, reviews)


def _mtime(path: Path) -> str:
    t = path.stat().st_mtime
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).replace(microsecond=0).isoformat()


def read_review(path: Path, rubric: Rubric, year: int, accepted: Mapping[UnitKey, FileEntry],
                timeout: int | None = None) -> Review | FileEntry:
    """One review workbook, accepted (a :class:`Review`) or rejected (a :class:`FileEntry`), read within
    the same per-file time bound as a submission (default :data:`FILE_TIMEOUT_S`). Never raises."""
    seconds = FILE_TIMEOUT_S if timeout is None else timeout
    try:
        with time_limit(seconds):
            return _read_review(path, rubric, year, accepted)
    except FileTimeout:
        return FileEntry(path.name, REJECTED, codes.FILE_TIMEOUT.code, codes.FILE_TIMEOUT.message(seconds=seconds))


def _read_review(path: Path, rubric: Rubric, year: int, accepted: Mapping[UnitKey, FileEntry]) -> Review | FileEntry:
    try:
        size = path.stat().st_size
        base = FileEntry(path.name, REJECTED, size=size, mtime=_mtime(path))
    except OSError as err:
        return FileEntry(path.name, REJECTED, codes.FILE_UNREADABLE.code, codes.FILE_UNREADABLE.message(error=err.strerror))
    try:
        check_size(size)
        content = path.read_bytes()
        base = replace(base, sha256=hashlib.sha256(content).hexdigest())
        return _review(path, content, base, rubric, year, accepted)
    except WorkbookError as err:
        return replace(base, reason_code=err.code, reason=err.message)
    except MemoryError:
        return replace(base, reason_code=codes.FILE_TOO_LARGE.code,
                       reason="读取该文件所需内存超出限制，疑似异常文件，已停止读取")
    except Exception as err:
        return replace(base, reason_code=codes.FILE_INTERNAL.code,
                       reason=codes.FILE_INTERNAL.message(error=type(err).__name__))


def _text(values: Mapping[str, Any], name: str) -> str:
    return readers.read_text(values.get(name)) or ""


def _review(path: Path, content: bytes, base: FileEntry, rubric: Rubric, year: int,
            accepted: Mapping[UnitKey, FileEntry]) -> Review | FileEntry:
    wanted = dict.fromkeys((*rn.IDENTITY_NAMES, *rn.required_names(rubric)))
    raw = read_workbook(path, wanted, data=content)
    values = raw.values
    if values.get(rn.NAME_TEMPLATE_ID) != rn.TEMPLATE_ID:
        return replace(base, reason_code=codes.REVIEW_WRONG_TEMPLATE.code,
                       reason="这不是 qc-batch review 生成的现场评审表（找不到评审表标识）；"
                              "请在 qc-batch review 生成的评审表中填写专家组意见")
    version = str(values.get(rn.NAME_TEMPLATE_VERSION) or "").removesuffix(".0")
    rubric_version = str(values.get(rn.NAME_RUBRIC_VERSION) or "")
    if version != rn.TEMPLATE_VERSION or rubric_version != rubric.version:
        return replace(base, reason_code=codes.REVIEW_OLD_TEMPLATE.code,
                       reason=f"现场评审表版本不符（此文件：评审表 {version or '未知'}、"
                              f"评分规则 {rubric_version or '未知'}；现行：评审表 {rn.TEMPLATE_VERSION}、"
                              f"评分规则 {rubric.version}）；请用 qc-batch review 重新生成评审表")
    missing = [n for n in rn.required_names(rubric) if n not in raw.refs]
    absent = sorted({r.sheet for r in raw.refs.values()} - set(raw.sheets))
    if missing or absent:
        shown = "、".join(missing[:5]) + (f" 等 {len(missing)} 个" if len(missing) > 5 else "")
        return replace(base, reason_code=codes.NAMES_MISSING.code,
                       reason=f"评审表中缺少单元格名称 {shown or '、'.join(absent)}（可能删除了工作表、行或名称）；"
                              "请在 qc-batch review 生成的评审表中重新填写")
    cells = {n: str(r) for n, r in raw.refs.items()}
    year_read = readers.read_year(values.get(rn.NAME_YEAR))
    date_read = readers.read_date_value(values.get(rn.NAME_DATE))
    review_date = date_read.value.isoformat() if isinstance(date_read.value, dt.date) else ""
    level = _text(values, rn.NAME_LEVEL)
    entry = replace(base, unit=_text(values, rn.NAME_UNIT), level=level,
                    parent=_text(values, rn.NAME_PARENT) if level == rubric.county_level else "",
                    year=year_read.value, date=review_date)
    if year_read.value != year:
        return replace(entry, reason_code=codes.REVIEW_YEAR_OTHER.code,
                       reason=f"评审表的评价年度为 {year_read.value or '空白'}（{cells.get(rn.NAME_YEAR, '')}），"
                              f"本次评价的是 {year} 年度；请使用本年度的评审表")
    key = unit_key(entry, rubric)
    submission = accepted.get(key)
    where = f"{entry.parent}" if entry.parent else ""
    if submission is None:
        return replace(entry, reason_code=codes.REVIEW_UNIT_UNKNOWN.code,
                       reason=f"评审表的被评价单位“{where}{entry.unit}”（{entry.level or '层级空白'}）"
                              "不是本次受理的单位；请核对评审表是否对应本批次的报送")
    sha = _text(values, rn.NAME_SHA256).lower()
    if sha != submission.sha256:
        return replace(entry, reason_code=codes.REVIEW_SUBMISSION_OTHER.code,
                       reason=f"评审表核对的是报送文件“{_text(values, rn.NAME_FILE)}”（SHA-256 {sha[:12] or '空白'}…），"
                              f"而本次受理的是“{submission.file}”（SHA-256 {submission.sha256[:12]}…）；"
                              "该单位已重新报送，请用 qc-batch review 按受理的文件重新生成评审表后评审")
    return Review(replace(entry, status=ACCEPTED), _text(values, rn.NAME_FILE), sha,
                  _text(values, rn.NAME_EXPERTS), review_date, _text(values, rn.NAME_OPINION),
                  dict(values), cells)


def _latest(reviews: list[Review]) -> tuple[dict[UnitKey, Review], list[FileEntry]]:
    """One review per unit: the later 评审日期, then the later file time, then the file name."""
    groups: dict[UnitKey, list[Review]] = {}
    for r in reviews:
        groups.setdefault(r.key, []).append(r)
    out: dict[UnitKey, Review] = {}
    superseded: list[FileEntry] = []
    for key, group in groups.items():
        ordered = sorted(group, key=lambda r: (r.date, r.entry.mtime, r.entry.file), reverse=True)
        win = ordered[0]
        out[key] = win
        for r in ordered[1:]:
            why = ("评审日期较早" if r.date < win.date
                   else "评审日期相同，文件修改时间较早" if r.entry.mtime < win.entry.mtime
                   else "与另一文件的评审日期和修改时间相同，按文件名取其一")
            superseded.append(replace(
                r.entry, status=SUPERSEDED, reason_code=codes.SUPERSEDED_CODE.code, superseded_by=win.entry.file,
                reason=f"同一单位、同一年度有两份现场评审表；本文件{why}，以“{win.entry.file}”为准"))
    return out, superseded

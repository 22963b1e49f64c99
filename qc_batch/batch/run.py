"""The yearly batch: every file of the input folder to scored, ranked, audited units.

``run_batch`` is the library entry point behind ``qc-batch run``: discover the
files, read and score each in worker processes (:func:`ingest.process_file`),
keep one workbook per unit and year, rank the ranking items across the batch,
score those items again with the real ranks, and add the findings that need
the other units.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from qc_batch import codes
from qc_batch.batch import collector, parallel
from qc_batch.batch.ingest import FileEntry, Sheet, discover, process_file, resolve_duplicates, worker_init
from qc_batch.codes import REJECTED
from qc_batch.engine.audit import cross_unit_findings, indicator_findings, name_findings
from qc_batch.engine.findings import Finding, sort_key
from qc_batch.engine.numbers import to_float
from qc_batch.engine.ranking import Entrant, Standing, rank_all
from qc_batch.engine.scoring import UnitScore, rank_values, rescore_ranked
from qc_batch.history.audit import across_years
from qc_batch.read.screen import clean_name
from qc_batch.rubric.model import Rubric, load_rubric
from qc_batch.settings import ExpectedUnit, Settings

BAND_LABELS = {"front": "前列", "middle": "中游", "other": "未进入前列或中游", None: "无法排名"}


@dataclass
class UnitResult:
    """One accepted unit, final."""

    id: str                       # unique, safe as a file name
    sheet: Sheet
    score: UnitScore
    standings: dict[str, Standing]
    findings: list[Finding] = field(default_factory=list)
    document: UnitResult | None = None  # final stage: this unit's result on the submitted facts (资料评审)
    review: Any = None                  # final stage: its accepted review (review.apply.ReviewRecord)

    @property
    def entry(self) -> FileEntry:
        return self.sheet.entry


@dataclass
class BatchResult:
    rubric: Rubric
    settings: Settings
    input_dir: Path
    files: list[FileEntry]
    units: list[UnitResult]
    not_submitted: list[ExpectedUnit]
    started: dt.datetime
    finished: dt.datetime
    stage: str = "document"  # "final" when a review was applied (资料评审＋现场评审)
    reviews: list[FileEntry] = field(default_factory=list)  # every file of the review folder
    history: Any = None  # history.audit.HistoryContext: earlier years (None: history turned off)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def status_count(self, status: str) -> int:
        return sum(1 for u in self.units if u.score.status == status)


Progress = Callable[[int], None]
Reviewer = Callable[[list[Sheet]], Any]  # accepted sheets -> review.apply.ReviewOutcome


def read_all(paths: Sequence[Path], settings: Settings, workers: int | None = None,
             progress: Progress | None = None) -> list[FileEntry | Sheet]:
    """Process every workbook; the results come back in the order of ``paths``."""
    year, policy = settings.year, settings.policy
    tick = progress or (lambda _n: None)
    n = parallel.workers_for(len(paths), workers)
    if n == 1:
        out = []
        for p in paths:
            out.append(process_file(str(p), year, policy))
            tick(1)
        return out
    chunk = parallel.chunksize(len(paths), n, parallel.READ_CHUNK_MAX)
    out: list[FileEntry | Sheet] = []
    try:
        with ProcessPoolExecutor(max_workers=n, initializer=worker_init) as pool:
            for res in pool.map(process_file, map(str, paths), repeat(year), repeat(policy), chunksize=chunk):
                out.append(res)
                tick(1)
    except BrokenProcessPool:
        # a worker died (e.g. out of memory): isolate the culprit, one file per process
        for p in paths[len(out):]:
            try:
                with ProcessPoolExecutor(max_workers=1, initializer=worker_init) as pool:
                    out.append(pool.submit(process_file, str(p), year, policy).result())
            except BrokenProcessPool:
                out.append(FileEntry(p.name, REJECTED, codes.FILE_CRASHED.code, codes.FILE_CRASHED.message()))
            tick(1)
    return out


def safe_file_stem(text: str, limit: int = 60) -> str:
    """A name safe on Windows and Linux: no separators, reserved characters or names, and no
    invisible characters (a right-to-left override cannot disguise an attachment's type)."""
    text = clean_name(text)
    text = re.sub(r'[\x00-\x1f\x7f<>:"/\\|?*]', "_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if text.upper().split(".")[0] in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                                      *(f"LPT{i}" for i in range(1, 10))}:
        text = "_" + text
    return text[:limit] or "_"


def unit_ids(sheets: Sequence[Sheet]) -> list[str]:
    """Unique, file-name-safe ids: the unit name, with its 市州 when the name is shared."""
    names = Counter(s.entry.unit for s in sheets)
    out: list[str] = []
    seen: set[str] = set()
    for s in sheets:
        e = s.entry
        base = e.unit if names[e.unit] == 1 else f"{e.parent or e.level}_{e.unit}"
        stem = safe_file_stem(base)
        candidate, k = stem, 2
        while candidate.casefold() in seen:
            candidate, k = f"{stem}_{k}", k + 1
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def ranked_parts(rubric: Rubric) -> list[str]:
    return [p.code for ind in rubric.indicators for p in ind.parts if p.is_ranked]


def band_rule(st: Standing) -> str:
    """Which ranks are 前列 and 中游 among these peers (with one peer there is no 中游)."""
    return _band_rule(st.front_cut, st.middle_cut)


@functools.lru_cache(maxsize=256)
def _band_rule(front: int, middle: int) -> str:
    # the same few cut-offs for every unit of a level: the text is made once per pair
    if middle > front + 1:
        return f"前 {front} 名为前列，第 {front + 1}～{middle} 名为中游"
    if middle == front + 1:
        return f"前 {front} 名为前列，第 {middle} 名为中游"
    return f"前 {front} 名为前列，没有中游名次"


def _ranked_labels(rubric: Rubric) -> list[tuple[str, str, str]]:
    """(indicator code, part code, label) of every ranked part, in rubric order."""
    return rubric.memo("ranked_labels", lambda: [(ind.code, part.code, part.label or part.code)
                                                 for ind in rubric.indicators for part in ind.parts
                                                 if part.is_ranked])


def _rank_notes(rubric: Rubric, standings: dict[str, Standing]) -> list[Finding]:
    out = []
    for ind_code, code, label in _ranked_labels(rubric):
        st = standings.get(code)
        if st is None:
            continue
        if st.rank is None:
            text = f"{label}：未填写可比较的数据，无法排名，按不得分计"
        else:
            text = codes.RANKED_ITEM.message(part=label, peers=st.peers, rank=st.rank,
                                             band=BAND_LABELS[st.band], rule=band_rule(st))
        out.append(Finding(codes.RANKED_ITEM.code, text, ind_code, code,
                           value="" if st.value is None else f"{to_float(st.value):.6g}"))
    return out


def run_batch(input_dir: Path, settings: Settings, *, settings_file: Path | None = None,
              workers: int | None = None, progress: Callable[[int], Progress] | None = None,
              rubric: Rubric | None = None, review: Reviewer | None = None) -> BatchResult:
    """Read, score, rank and audit every file of ``input_dir``.

    ``progress(total)`` returns a callback advanced once per workbook read. ``review``: the
    on-site review stage (:func:`qc_batch.review.apply.reviewer`), given the accepted sheets,
    returns them with the verified facts in place of the submitted ones; every unit is then
    ranked and scored again.
    """
    with collector.paused():
        return _run_batch(input_dir, settings, settings_file, workers, progress, rubric or load_rubric(), review)


def _run_batch(input_dir: Path, settings: Settings, settings_file: Path | None, workers: int | None,
               progress: Callable[[int], Progress] | None, rubric: Rubric, review: Reviewer | None) -> BatchResult:
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    decided, paths = discover(input_dir, settings_file)
    tick = progress(len(paths)) if progress else None
    processed = read_all(paths, settings, workers, tick)
    files: list[FileEntry] = list(decided)
    sheets: list[Sheet] = []
    for res in processed:
        if isinstance(res, Sheet):
            sheets.append(res)
        else:
            files.append(res)
    winners, superseded = resolve_duplicates(sheets)
    files += superseded + [s.entry for s in winners]
    files.sort(key=lambda e: e.file)

    units = score_units(rubric, settings, winners)
    stage, review_files = "document", []
    if review is not None:
        outcome = review(winners)
        review_files = outcome.files
        if outcome.applied:  # verified facts replace submitted ones; everything is ranked again
            documents = {u.id: u for u in units}
            units = score_units(rubric, settings, outcome.sheets)
            for u in units:
                u.document, u.review = documents[u.id], outcome.records.get(u.entry.file)
            outcome.settle(units, documents)
            stage = "final"

    history = across_years(units, settings, input_dir, rubric)  # HISTORY_MISMATCH, RANK_CLAIM_CONFLICT
    got = {(u.entry.level, u.entry.unit) for u in units}
    not_submitted = [e for e in settings.expected_units if (e.level, e.unit) not in got]
    finished = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return BatchResult(rubric, settings, input_dir, files, units, not_submitted, started, finished,
                       stage, review_files, history)


def score_units(rubric: Rubric, settings: Settings, winners: Sequence[Sheet]) -> list[UnitResult]:
    """Rank the ranking items across ``winners``, score them with the real ranks and add the
    findings that need the other units."""
    policy = settings.policy
    items = ranked_parts(rubric)
    entrants = [Entrant(k, s.entry.level, s.figures, s.score.vetoed) for k, s in enumerate(winners)]
    reference = [(pf.level, rank_values(rubric, pf.values)) for pf in settings.peer_reference]
    standings = rank_all(entrants, items, policy.rank_fraction, reference)
    ranked_inds = [ind for ind in rubric.indicators if ind.is_ranked]

    units: list[UnitResult] = []
    for k, (s, uid) in enumerate(zip(winners, unit_ids(winners), strict=True)):
        st = standings[k]
        bands = {code: x.band for code, x in st.items()}
        final = rescore_ranked(rubric, s.score, s.data.facts, policy, bands, s.figures)
        findings = list(s.findings)  # named in the worker
        ranked = []
        for ind in ranked_inds:
            ranked += indicator_findings(ind, final.indicators[ind.code], s.data.claims[ind.code],
                                         s.data.evidence[ind.code], s.cells)
        findings += name_findings(ranked, s.cells)
        findings += _rank_notes(rubric, st)
        units.append(UnitResult(uid, s, final, st, findings))
    cross = cross_unit_findings([(u.id, u.sheet.data) for u in units], rubric, [u.sheet.prints for u in units])
    for u in units:
        u.findings += cross.get(u.id, [])
        u.findings.sort(key=sort_key)
    return units

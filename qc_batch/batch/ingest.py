"""Find every file in the input folder and turn each into a scored sheet or a reason.

Each file found gets exactly one :class:`FileEntry`: ``accepted``,
``superseded`` (another workbook of the same unit and year won), ``rejected``
(with a stable code and a Chinese reason), or ``settings`` (the settings file
the run used). Workbooks are found by their ``QC_...`` defined names, never by
address, and scored from their inputs only (cached formula results are not
trusted).

:func:`process_file` is the per-file stage: it runs in worker processes, with
a time and memory bound, and returns plain picklable data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import signal
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qc_batch import codes, paths
from qc_batch.batch import collector, parallel
from qc_batch.codes import ACCEPTED, REJECTED, SETTINGS, STATUS_LABELS, SUPERSEDED
from qc_batch.engine.audit import fingerprints, name_findings, unit_findings
from qc_batch.engine.findings import Finding
from qc_batch.engine.scoring import Policy, UnitScore, rank_values, score_unit, sheet_bands
from qc_batch.read.sample_mark import is_sample
from qc_batch.read.screen import date_findings, display_name, effective_date, merge, screen
from qc_batch.read.sheet_data import SheetData, interpret
from qc_batch.read.workbook import WorkbookError, check_size, read_workbook
from qc_batch.rubric.model import Rubric, load_rubric
from qc_batch.sheet import names as sn

FILE_TIMEOUT_S = 60
WORKER_MEMORY_BYTES = 3 * 1024**3


@dataclass(frozen=True)
class FileEntry:
    """One file of the input folder and what became of it."""

    file: str                 # name inside the input folder
    status: str
    reason_code: str = ""
    reason: str = ""
    size: int = 0
    mtime: str = ""           # ISO time of last modification (UTC)
    sha256: str = ""
    unit: str = ""
    level: str = ""
    parent: str = ""
    year: int | None = None
    date: str = ""            # 填报日期
    superseded_by: str = ""
    sample: bool = False      # written by qc-batch sample (示例数据), see qc_batch.read.sample_mark

    def __post_init__(self) -> None:
        if self.reason_code and codes.CATALOGUE.get(self.reason_code, codes.VETO).kind != codes.FILE:
            raise ValueError(f"file reason code {self.reason_code!r} is not in qc_batch.codes")

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "status_label": STATUS_LABELS[self.status],
            "reason_code": self.reason_code, "reason": self.reason, "size": self.size, "mtime": self.mtime,
            "sha256": self.sha256, "unit": self.unit, "level": self.level, "parent": self.parent,
            "year": self.year, "date": self.date, "superseded_by": self.superseded_by, "sample": self.sample,
        }


@dataclass
class Sheet:
    """An accepted workbook: typed contents, score and findings before ranking."""

    entry: FileEntry
    data: SheetData
    cells: Mapping[str, str]           # defined name -> "评分表!H12"
    overwritten: tuple[str, ...]       # formula cells found holding typed values
    score: UnitScore                   # with the sheet's own assumption for ranked items
    figures: dict[str, Any]            # ranked part code -> figure
    findings: list[Finding] = field(default_factory=list)
    prints: tuple = (None, None, False)  # audit.fingerprints: compared across units

    @property
    def key(self) -> tuple[str, str, str, int]:
        e = self.entry
        return (e.level, e.parent, e.unit, e.year or 0)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mtime(st: os.stat_result) -> str:
    return dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).replace(microsecond=0).isoformat()


def is_output_folder(path: Path) -> bool:
    """Whether ``path`` is the output folder of a ``qc-batch run`` (it holds that run's results.json)."""
    try:
        with open(path / paths.RESULTS, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b'"qc-batch/results"' in head


def discover(folder: Path, settings_file: Path | None = None) -> tuple[list[FileEntry], list[Path]]:
    """Every entry of ``folder`` (sorted by name): entries decided now, and workbook paths to read."""
    decided: list[FileEntry] = []
    to_read: list[Path] = []
    settings_resolved = settings_file.resolve() if settings_file else None
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        name = display_name(path.name)
        try:
            st = path.lstat()
        except OSError as err:
            decided.append(_rejected(name, codes.FILE_UNREADABLE, error=err.strerror))
            continue
        base = dict(size=st.st_size, mtime=_mtime(st))
        if stat.S_ISDIR(st.st_mode) and is_output_folder(path):
            continue  # the results of an earlier run written inside the input folder: not a submission
        if stat.S_ISDIR(st.st_mode):
            decided.append(_rejected(name, codes.FOLDER, **base))
        elif stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            decided.append(_rejected(name, codes.FILE_NOT_REGULAR, **base))
        elif settings_resolved is not None and path.resolve() == settings_resolved:
            decided.append(FileEntry(name, SETTINGS, "", "本次运行使用的年度设置文件", sha256=sha256_of(path), **base))
        elif name.startswith("~$"):
            decided.append(_rejected(name, codes.FILE_LOCK, **base))
        elif name.startswith("."):
            decided.append(_rejected(name, codes.FILE_HIDDEN, **base))
        else:
            to_read.append(path)
    return decided, to_read


def _rejected(name: str, code: codes.Code, size: int = 0, mtime: str = "", **fields: object) -> FileEntry:
    """A file rejected before it is read: ``code``'s message with ``fields`` filled in."""
    return FileEntry(name, REJECTED, code.code, code.message(**fields), size=size, mtime=mtime)


def _reason(entry: FileEntry, code: codes.Code, **fields: object) -> FileEntry:
    """``entry`` rejected for ``code``, its message with ``fields`` filled in."""
    return replace(entry, reason_code=code.code, reason=code.message(**fields))


# -- the per-file stage ----------------------------------------------------------


class FileTimeout(BaseException):
    """The per-file time bound: a BaseException, so that no ``except Exception`` on the way
    (a reader's catch-all, a library's) can swallow it."""


def _alarm(_signum, _frame):
    raise FileTimeout


def worker_init(memory_bytes: int = WORKER_MEMORY_BYTES) -> None:
    """Bound a worker process's memory (where the platform allows it); see :func:`collector.in_worker`."""
    load_rubric()
    collector.in_worker()
    parallel.compact_pickling()
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def required_names(rubric: Rubric) -> tuple[str, ...]:
    """The names ingest needs, in sheet order (cached on the rubric)."""
    return rubric.memo(required_names, lambda: _required_names(rubric))


def _required_names(rubric: Rubric) -> tuple[str, ...]:
    names = [h.name for h in sn.HEADER_FIELDS]
    names += [sn.veto_name(k) for k in range(1, len(rubric.vetoes) + 1)]
    for ind in rubric.indicators:
        names += [i.name for i in ind.inputs] + [ind.claim_name, ind.evidence_name]
    return tuple(names)


IDENTITY_NAMES = (sn.NAME_TEMPLATE_ID, sn.NAME_TEMPLATE_VERSION, sn.NAME_RUBRIC_ID, sn.NAME_RUBRIC_VERSION)


def formula_names(rubric: Rubric) -> tuple[str, ...]:
    return tuple(ind.score_name for ind in rubric.indicators)


def process_file(path: str, year: int, policy: Policy, timeout: int | None = None) -> FileEntry | Sheet:
    """Read, check, type, score and audit one workbook, within ``timeout`` seconds (default
    :data:`FILE_TIMEOUT_S`, in a worker or in this process alike). Never raises."""
    timeout = FILE_TIMEOUT_S if timeout is None else timeout
    p = Path(path)
    try:
        st = p.stat()
        base = FileEntry(display_name(p.name), REJECTED, size=st.st_size, mtime=_mtime(st))
    except OSError as err:
        return _rejected(display_name(p.name), codes.FILE_UNREADABLE, error=err.strerror)
    try:
        with time_limit(timeout):
            return _read_one(p, base, year, policy, timeout)
    except FileTimeout:  # the alarm went off at the very end, after _read_one's own handler
        return _reason(base, codes.FILE_TIMEOUT, seconds=timeout)


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`FileTimeout` inside the block after ``seconds`` (0: no bound). The bound holds
    in a worker and in this process alike, wherever SIGALRM exists and this is the main thread
    (elsewhere the block runs unbounded: workers on such platforms are still bounded by the pool)."""
    if not (seconds and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()):
        yield
        return
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)


def _read_one(p: Path, base: FileEntry, year: int, policy: Policy, timeout: int) -> FileEntry | Sheet:
    try:
        check_size(base.size)  # before reading it into memory
        content = p.read_bytes()
        base = replace(base, sha256=hashlib.sha256(content).hexdigest())
        return _process(p, content, base, year, policy)
    except FileTimeout:
        return _reason(base, codes.FILE_TIMEOUT, seconds=timeout)
    except MemoryError:
        return replace(base, reason_code=codes.FILE_TOO_LARGE.code,
                       reason="读取该文件所需内存超出限制，疑似异常文件，已停止读取")
    except WorkbookError as err:
        return replace(base, reason_code=err.code, reason=err.message)
    except Exception as err:
        return _reason(base, codes.FILE_INTERNAL, error=type(err).__name__)


# -- named values, compact in transit --------------------------------------------------


class _Absent:
    def __reduce__(self) -> str:
        return "_ABSENT"


_ABSENT = _Absent()


@functools.lru_cache(maxsize=1)
def _names() -> tuple[tuple[str, ...], dict[str, int]]:
    rubric = load_rubric()
    names = tuple(dict.fromkeys((*required_names(rubric), *formula_names(rubric), *IDENTITY_NAMES)))
    return names, {n: k for k, n in enumerate(names)}


class NamedValues(Mapping[str, Any]):
    """A read-only mapping from the score sheet's defined names (those ingest reads) to values.

    Every accepted workbook carries two (its cell values and its cell addresses) from a
    worker to the batch: pickled as the values alone, in the order of the names, which
    both sides know from the rubric."""

    __slots__ = ("_values",)

    def __init__(self, values: tuple[Any, ...]):
        self._values = values

    @classmethod
    def of(cls, mapping: Mapping[str, Any]) -> Mapping[str, Any]:
        names, index = _names()
        if not all(k in index for k in mapping):
            return dict(mapping)
        return cls(tuple(mapping.get(n, _ABSENT) for n in names))

    def __reduce__(self):
        return NamedValues, (self._values,)

    def __getitem__(self, name: str) -> Any:
        v = self._values[_names()[1][name]]
        if v is _ABSENT:
            raise KeyError(name)
        return v

    def get(self, name: str, default: Any = None) -> Any:
        k = _names()[1].get(name)
        v = _ABSENT if k is None else self._values[k]
        return default if v is _ABSENT else v

    def __contains__(self, name: object) -> bool:
        k = _names()[1].get(name)  # type: ignore[call-overload]
        return k is not None and self._values[k] is not _ABSENT

    def __iter__(self) -> Iterator[str]:
        return iter([n for n, v in zip(_names()[0], self._values, strict=True) if v is not _ABSENT])

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(n, v) for n, v in zip(_names()[0], self._values, strict=True) if v is not _ABSENT]

    def __len__(self) -> int:
        return sum(1 for v in self._values if v is not _ABSENT)

    def __repr__(self) -> str:
        return f"NamedValues({dict(self.items())!r})"


def _process(p: Path, content: bytes, base: FileEntry, year: int, policy: Policy) -> FileEntry | Sheet:
    rubric = load_rubric()
    wanted = _names()[1]
    raw = read_workbook(p, wanted, formula_names(rubric), data=content)
    identity = _identity_problem(raw.values, rubric)
    if identity:
        code, fields = identity
        return _reason(base, code, **fields)
    missing = [n for n in required_names(rubric) if n not in raw.refs]  # in sheet order
    if missing:
        shown = "、".join(missing[:5]) + (f" 等 {len(missing)} 个" if len(missing) > 5 else "")
        return _reason(base, codes.NAMES_MISSING, names=shown)
    required = set(required_names(rubric))
    absent = sorted({r.sheet for n, r in raw.refs.items() if n in required} - set(raw.sheets))
    if absent:
        return _reason(base, codes.SHEET_MISSING, sheets="、".join(absent))
    cells = NamedValues.of({n: str(r) for n, r in raw.refs.items()})
    screened = screen(rubric, raw.values, raw.formulas, cells)  # invalid text, formulas in inputs, names
    if screened.refused:
        return replace(base, reason_code=screened.refused[0], reason=screened.refused[1])
    data = interpret(rubric, NamedValues.of(screened.values))
    unit, level, parent = data.text("QC_UNIT"), data.text("QC_LEVEL"), data.text("QC_PARENT") or ""
    yr = data.header["QC_YEAR"]
    date = data.header["QC_DATE"].value
    entry = replace(base, unit=unit or "", level=level or "", parent=parent if level == rubric.county_level else "",
                    year=yr.value, date=date.isoformat() if isinstance(date, dt.date) else "")
    if not unit:
        return _reason(entry, codes.HEADER_UNIT_MISSING, cell=cells.get("QC_UNIT", "基本信息"))
    if level not in rubric.levels:
        shown = f"填写的是“{level}”" if level else "未填写"
        return _reason(entry, codes.HEADER_LEVEL_INVALID, found=shown, cell=cells.get("QC_LEVEL", ""),
                       levels=rubric.levels_text)
    if yr.value is None:
        shown = yr.error or "未填写"
        return _reason(entry, codes.HEADER_YEAR_MISSING, found=shown, cell=cells.get("QC_YEAR", ""), year=year)
    if yr.value != year:
        return _reason(entry, codes.HEADER_YEAR_OTHER, found=yr.value, year=year)
    overwritten = tuple(n for n in formula_names(rubric) if n in raw.refs and not raw.has_formula(n))
    score = score_unit(rubric, data.facts, data.veto_values, policy, sheet_bands(rubric, data.facts))
    not_ranked = [ind for ind in rubric.indicators if not ind.is_ranked]
    findings = unit_findings(rubric, data, score, policy, cells, overwritten, not_ranked)
    findings = merge(findings, screened) + date_findings(date, cells)
    entry = replace(entry, status=ACCEPTED, sample=is_sample(content))
    return Sheet(entry, data, cells, overwritten, score, rank_values(rubric, data.facts), name_findings(findings, cells),
                 fingerprints(data, rubric))


def _identity_problem(values: dict[str, Any], rubric: Rubric) -> tuple[codes.Code, dict[str, object]] | None:
    tid = values.get(sn.NAME_TEMPLATE_ID)
    if tid != sn.TEMPLATE_ID:
        return codes.WRONG_TEMPLATE, {"template": paths.TEMPLATE_FILE}
    tver = str(values.get(sn.NAME_TEMPLATE_VERSION) or "").removesuffix(".0")
    rver = str(values.get(sn.NAME_RUBRIC_VERSION) or "")
    if tver != sn.TEMPLATE_VERSION or rver != rubric.version:
        return codes.OLD_TEMPLATE, {"file_template": tver or "未知", "file_rubric": rver or "未知",
                                    "template": sn.TEMPLATE_VERSION, "rubric": rubric.version}
    return None


# -- one winner per unit and year -------------------------------------------------


def resolve_duplicates(sheets: Iterable[Sheet]) -> tuple[list[Sheet], list[FileEntry]]:
    """Keep the latest workbook of each unit and year: later 填报日期, then later file time.

    Sample data never competes with real submissions: when the folder holds both, every
    sample is set aside (rejected, ``SAMPLE_SET_ASIDE``) before anything is compared.
    Returns the winners (in file order) and the entries of the others.
    """
    sheets = list(sheets)
    real = [s for s in sheets if not s.entry.sample]
    superseded: list[FileEntry] = []
    if real and len(real) < len(sheets):
        superseded += [replace(_reason(s.entry, codes.SAMPLE_SET_ASIDE), status=REJECTED)
                       for s in sheets if s.entry.sample]
        sheets = real
    groups: dict[tuple, list[Sheet]] = {}
    for s in sheets:
        groups.setdefault(s.key, []).append(s)
    winners: list[Sheet] = []
    for group in groups.values():
        # a 填报日期 after the day of the run does not count (screen.effective_date)
        ordered = sorted(group, key=lambda s: (effective_date(s.entry.date), s.entry.mtime, s.entry.file),
                         reverse=True)
        win = ordered[0]
        winners.append(win)
        for s in ordered[1:]:
            why = ("填报日期晚于审核日期，不作为较新版本的依据" if effective_date(s.entry.date) != s.entry.date
                   else "填报日期较早" if effective_date(s.entry.date) < effective_date(win.entry.date)
                   else "填报日期相同，文件修改时间较早" if s.entry.mtime < win.entry.mtime
                   else "与另一文件的填报日期和修改时间相同，按文件名取其一")
            superseded.append(replace(_reason(s.entry, codes.SUPERSEDED_CODE, why=why, winner=win.entry.file),
                                      status=SUPERSEDED, superseded_by=win.entry.file))
    winners.sort(key=lambda s: s.entry.file)
    return winners, superseded

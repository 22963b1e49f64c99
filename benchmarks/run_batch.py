"""Benchmark of ``qc-batch run`` on many filled score sheets, against the plain-read floor.

Usage::

    python benchmarks/run_batch.py                       # sizes 100 1000 3000
    python benchmarks/run_batch.py --sizes 20 100 --workers 2 --markdown bench.md

For every size N it

1. uses N filled workbooks of distinct 县市区 (made with the project's own sheet
   writer and sample-data helpers; generated in parallel once and cached under
   ``--cache``, so reruns are fast; generation time is reported but not measured);
2. measures the *floor*: the fastest plain read of the same files in one process
   (python-calamine reading every cell of every sheet, plus the defined names from
   ``xl/workbook.xml``);
3. measures ingest + audit (``qc_batch.batch.run.run_batch``) in a fresh process, wall
   clock, and its peak memory (the process itself and its largest worker);
4. measures the whole command a user runs (``python -m qc_batch run --quiet``), wall
   clock and peak memory, whatever outputs ``qc-batch run`` writes;
5. prints the figures (and writes them as Markdown with ``--markdown FILE``).

``--profile N`` instead profiles the whole ``qc-batch run --workers 1`` on N workbooks (cProfile).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

YEAR = 2026
SEED = 2026
GENERATOR_VERSION = "1"  # bump when the generated workbooks change, to invalidate the cache
TARGET_INGEST = 1.5  # ingest + audit of 3000 workbooks: at most this times the single-process floor
TARGET_WHOLE = 3.0  # the whole `qc-batch run`: at most this times the single-process floor
TARGET_SIZE = 3000

SETTINGS_YAML = f"""\
# qc-batch benchmark settings (made-up units; no expected_units list)
year: {YEAR}
references:
  export_notification_ratio_national: 31/10000
  special_equipment_death_rate_national: 13/100
na_policy: prorate
rank_fraction: 1/3
"""


# -- generating the workbooks ---------------------------------------------------------


def unit_name(k: int) -> str:
    return f"基准县{k:04d}"


def file_name(k: int) -> str:
    return f"基准数据_{unit_name(k)}_{YEAR}.xlsx"


_GEN: dict[str, Any] = {}


def _gen_init() -> None:
    import yaml

    from qc_batch.rubric.model import load_rubric
    from qc_batch.rubric.regions import hunan
    from qc_batch.settings import parse_settings

    rubric = load_rubric()
    _GEN["rubric"] = rubric
    _GEN["policy"] = parse_settings(yaml.safe_load(SETTINGS_YAML), rubric).policy
    _GEN["parents"] = list(hunan())


def unit_values(k: int) -> dict[str, Any]:
    """Raw named-cell values of made-up unit ``k``: the sample generator, with a distinct name."""
    from qc_batch import sample
    from qc_batch.sheet import names as sn

    rubric, policy, parents = _GEN["rubric"], _GEN["policy"], _GEN["parents"]
    rng = random.Random(SEED * 1_000_003 + k)
    unit = unit_name(k)
    parent = parents[k % len(parents)]
    # _unit_values looks the unit's strength up by name; register the made-up unit for the call
    sample.STRENGTH[unit] = rng.uniform(0.55, 0.98)
    try:
        values = sample._unit_values(rubric, unit, "县市区", parent, YEAR, rng, k)
    finally:
        del sample.STRENGTH[unit]
    for inp in rubric.inputs:  # claimed province ranks are a permutation, as in real submissions (no RANK_CLAIM_CONFLICT)
        if inp.kind == "rank":
            values[inp.name] = k
    if k % 37 == 0:  # no port (合理缺项)
        values["QC_3_5_b1"], values["QC_3_5_b2"] = "否", None
    sample._claims(rubric, unit, values, policy, rng)
    if k % 97 == 0:  # a veto
        values[sn.veto_name(2)] = "是"
    if k % 53 == 0:  # values that cannot be read as numbers
        values.update({"QC_6_1_a": "约95%", "QC_2_6_b": -2, "QC_8_5_b": "三个", "QC_7_2_a": 120})
    return values


def _gen_one(job: tuple[int, str]) -> str:
    from qc_batch.read.sheet_data import cached_results, interpret
    from qc_batch.sheet.writer import Fill, write_score_sheet

    k, path = job
    rubric, policy = _GEN["rubric"], _GEN["policy"]
    values = unit_values(k)
    fill = Fill(values, cached_results(rubric, interpret(rubric, values), policy))
    final = Path(path)
    tmp = final.with_name(f".tmp-{os.getpid()}-{final.name}")
    write_score_sheet(tmp, rubric, policy=policy, fill=fill)
    os.replace(tmp, final)  # never leave half a workbook in the cache
    return path


GENERATOR_SOURCES = ("sheet/*.py", "sample.py", "read/sheet_data.py", "rubric/*.py", "engine/scoring.py")


def cache_folder(cache: Path) -> Path:
    """The cache sub-folder for the current generator: a hash of its sources, so edits regenerate."""
    import hashlib

    import qc_batch

    pkg = Path(qc_batch.__file__).parent
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    files = [f for pattern in GENERATOR_SOURCES for f in sorted(pkg.glob(pattern))] + sorted((pkg / "data").glob("*"))
    for f in files:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return cache / f"units-{h.hexdigest()[:12]}"


def drop_stale(cache: Path, keep: Path) -> None:
    """Remove workbook sets of earlier generator versions (only our own units-* folders)."""
    if not cache.is_dir():
        return
    for d in cache.iterdir():
        if d.is_dir() and d.name.startswith("units-") and d != keep:
            shutil.rmtree(d, ignore_errors=True)


def ensure_workbooks(units_dir: Path, n: int, procs: int) -> tuple[int, float]:
    """Make sure workbooks 1..n exist in ``units_dir``; returns (newly written, seconds)."""
    units_dir.mkdir(parents=True, exist_ok=True)
    for stale in units_dir.glob(".tmp-*"):
        stale.unlink()
    todo = [(k, str(units_dir / file_name(k))) for k in range(1, n + 1) if not (units_dir / file_name(k)).is_file()]
    if not todo:
        return 0, 0.0
    print(f"generating {len(todo)} workbooks with {procs} processes (cached in {units_dir}) ...", flush=True)
    t0 = time.perf_counter()
    done = 0
    with Pool(procs, initializer=_gen_init) as pool:
        for _ in pool.imap_unordered(_gen_one, todo, chunksize=8):
            done += 1
            if done % 500 == 0:
                print(f"  {done}/{len(todo)}  {time.perf_counter() - t0:.0f} s", flush=True)
    return len(todo), time.perf_counter() - t0


def input_folder(cache: Path, units_dir: Path, n: int) -> Path:
    """A folder with workbooks 1..n (hard links into the cache, copies if links fail) and settings.yaml."""
    folder = cache / f"input-n{n}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for k in range(1, n + 1):
        src, dst = units_dir / file_name(k), folder / file_name(k)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    (folder / "settings.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
    return folder


def workbooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".xlsx")


# -- the floor --------------------------------------------------------------------------


def plain_read(path: Path) -> tuple[int, int]:
    """Every cell of every sheet (calamine) and the defined names of xl/workbook.xml."""
    import python_calamine
    from defusedxml import ElementTree as SafeET

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    cells = 0
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python()
            cells += sum(len(r) for r in rows)
    finally:
        book.close()
    with zipfile.ZipFile(path) as zf:
        root = SafeET.fromstring(zf.read("xl/workbook.xml"), forbid_dtd=True)
    names = {dn.get("name", ""): (dn.text or "").strip() for dn in root.iter(f"{ns}definedName")}
    return cells, len(names)


def busy_seconds() -> float | None:
    """CPU seconds all processes of the machine have used since boot (Linux /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_cpu(before: float | None, after: float | None, own: float) -> float | None:
    """CPU seconds used by processes other than the measured ones (another job would skew the timing)."""
    if before is None or after is None:
        return None
    return max(0.0, after - before - own)


def warm_cache(paths: list[Path]) -> None:
    for p in paths:
        p.read_bytes()


def child_floor(folder: Path, repeat: int) -> None:
    """Child mode: the floor in a fresh process; prints one JSON line (fastest of ``repeat`` passes)."""
    paths = workbooks(folder)
    warm_cache(paths)
    best, cells, names = float("inf"), 0, 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        counts = [plain_read(p) for p in paths]
        best = min(best, time.perf_counter() - t0)
        cells, names = sum(c for c, _ in counts), sum(n for _, n in counts)
    print("BENCH-RESULT " + json.dumps({"seconds": best, "cells": cells, "names": names}), flush=True)


def measure_floor(folder: Path, repeat: int, logdir: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-floor", str(folder), "--repeat", str(repeat)]
    return child_result(cmd, logdir / "floor.log", "floor")


# -- ingest + audit, in a fresh process ------------------------------------------------


def maxrss_mb(who: int) -> float:
    kb = resource.getrusage(who).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024  # bytes on macOS, KiB on Linux


def status_mb(key: str) -> float | None:
    """A field of /proc/self/status in MB (VmRSS: now, VmHWM: peak of this program), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_self_mb() -> float:
    # ru_maxrss of RUSAGE_SELF keeps the launching process's size across exec; VmHWM does not
    hwm = status_mb("VmHWM")
    return maxrss_mb(resource.RUSAGE_SELF) if hwm is None else hwm


def child_run_batch(folder: Path, workers: int | None) -> None:
    """Child mode: time run_batch once and print one JSON line (time, memory, counts)."""
    import pickle

    from qc_batch.batch.run import run_batch
    from qc_batch.rubric.model import load_rubric
    from qc_batch.settings import load_settings

    settings_file = folder / "settings.yaml"
    settings = load_settings(settings_file)
    rubric = load_rubric()
    base_rss = peak_self_mb()
    t0 = time.perf_counter()
    result = run_batch(folder, settings, settings_file=settings_file, workers=workers, rubric=rubric)
    seconds = time.perf_counter() - t0
    out = {
        "seconds": seconds,
        "base_rss_mb": base_rss,
        "self_rss_mb": peak_self_mb(),
        "worker_rss_mb": maxrss_mb(resource.RUSAGE_CHILDREN),
        "accepted": result.count("accepted"),
        "rejected": result.count("rejected"),
        "units": len(result.units),
        "findings": sum(len(u.findings) for u in result.units),
    }
    try:
        out["units_pickled_mb"] = len(pickle.dumps(result.units, protocol=pickle.HIGHEST_PROTOCOL)) / 1024**2
    except Exception as exc:  # only a size indication; never fail the benchmark over it
        out["units_pickled_mb"] = None
        out["pickle_error"] = f"{type(exc).__name__}: {exc}"
    print("BENCH-RESULT " + json.dumps(out), flush=True)


def run_child(cmd: list[str], log: Path) -> tuple[float, int, float, str, float | None]:
    """Run ``cmd``: wall seconds, exit code, peak RSS (MB) of it and its reaped children, output, others' CPU s."""
    with log.open("w+b") as out:
        busy0 = busy_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        busy1 = busy_seconds()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    kb = usage.ru_maxrss
    rss = kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024
    return seconds, proc.returncode, rss, text, others_cpu(busy0, busy1, usage.ru_utime + usage.ru_stime)


def child_result(cmd: list[str], log: Path, what: str) -> dict[str, Any]:
    """Run a child mode of this script and return its JSON line, with the others' CPU seconds."""
    _wall, code, _rss, text, others = run_child(cmd, log)
    for line in text.splitlines():
        if line.startswith("BENCH-RESULT "):
            return {**json.loads(line.removeprefix("BENCH-RESULT ")), "others_cpu": others}
    raise RuntimeError(f"{what} child failed (exit {code}):\n{text[-3000:]}")


def measure_run_batch(folder: Path, workers: int | None, logdir: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-run-batch", str(folder)]
    if workers:
        cmd += ["--workers", str(workers)]
    return child_result(cmd, logdir / "run_batch.log", "run_batch")


def measure_cli(folder: Path, workers: int | None, outdir: Path, logdir: Path) -> dict[str, Any]:
    if outdir.exists():
        shutil.rmtree(outdir)
    # the run records itself in the history database beside its input folder (docs/history.md):
    # a fresh one each time, so that reruns do not pile up years of benchmark units
    (folder.parent / "qc_history.sqlite").unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "qc_batch", "run", "--input", str(folder), "--output", str(outdir), "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    seconds, code, rss, text, others = run_child(cmd, logdir / "cli.log")
    if code != 0:
        raise RuntimeError(f"qc-batch run failed (exit {code}):\n{text[-3000:]}")
    files = [p for p in outdir.rglob("*") if p.is_file()]
    units = None
    results = outdir / "results.json"
    if results.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            units = len(json.loads(results.read_text(encoding="utf-8"))["units"])
    out = {"seconds": seconds, "others_cpu": others, "peak_rss_mb": rss, "out_files": len(files),
           "png": sum(p.suffix == ".png" for p in files),
           "out_mb": sum(p.stat().st_size for p in files) / 1024**2, "units": units}
    shutil.rmtree(outdir, ignore_errors=True)  # the 3000-unit output is hundreds of MB
    return out


# -- the report -------------------------------------------------------------------------


@dataclass
class Row:
    n: int
    floor: dict[str, Any]
    cores: int
    batch: dict[str, Any]
    cli: dict[str, Any]

    @property
    def others(self) -> float | None:
        """CPU seconds other processes used during the three measurements."""
        parts = (self.floor.get("others_cpu"), self.batch.get("others_cpu"), self.cli.get("others_cpu"))
        return None if None in parts else sum(parts)

    @property
    def floor_s(self) -> float:
        return self.floor["seconds"]

    @property
    def wall(self) -> float:
        return self.floor_s + self.batch["seconds"] + self.cli["seconds"]

    @property
    def floor_ms(self) -> float:
        return 1000 * self.floor_s / self.n

    @property
    def floor2_s(self) -> float:
        return self.floor_s / self.cores

    @property
    def ingest_ratio(self) -> float:
        return self.batch["seconds"] / self.floor_s

    @property
    def whole_ratio(self) -> float:
        return self.cli["seconds"] / self.floor_s


TIME_HEAD = ["files", "floor ms/file", "floor s (1 proc)", "floor s / {cores} cores", "ingest+audit s",
             "x floor", "ms/file", "whole run s", "x floor", "ms/file", "others' CPU s"]
MEM_HEAD = ["files", "baseline MB", "run_batch peak MB", "growth KB/unit", "largest worker MB", "units pickled MB",
            "whole run peak MB", "accepted", "findings", "outputs"]


def time_cells(r: Row) -> list[str]:
    b, c = r.batch, r.cli
    return [str(r.n), f"{r.floor_ms:.1f}", f"{r.floor_s:.2f}", f"{r.floor2_s:.2f}", f"{b['seconds']:.2f}",
            f"{r.ingest_ratio:.2f}", f"{1000 * b['seconds'] / r.n:.1f}", f"{c['seconds']:.2f}",
            f"{r.whole_ratio:.2f}", f"{1000 * c['seconds'] / r.n:.1f}", "-" if r.others is None else f"{r.others:.1f}"]


def mem_cells(r: Row) -> list[str]:
    b, c = r.batch, r.cli
    growth = 1024 * (b["self_rss_mb"] - b["base_rss_mb"]) / r.n
    pickled = "-" if b.get("units_pickled_mb") is None else f"{b['units_pickled_mb']:.1f}"
    return [str(r.n), f"{b['base_rss_mb']:.0f}", f"{b['self_rss_mb']:.0f}", f"{growth:.0f}",
            f"{b['worker_rss_mb']:.0f}", pickled, f"{c['peak_rss_mb']:.0f}", f"{b['accepted']}/{r.n}",
            str(b["findings"]), f"{c['out_files']} files ({c['png']} png), {c['out_mb']:.1f} MB"]


def text_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    big = [r for r in rows if r.n >= TARGET_SIZE] or rows[-1:]
    out = []
    for r in rows:
        if r.others is not None and r.others > 0.05 * r.wall:
            out.append(f"WARNING {r.n} files: other processes used {r.others:.0f} CPU s during the "
                       f"{r.wall:.0f} s of measurements; the machine was not idle, rerun for clean figures")
    for r in big:
        ok1 = "met" if r.ingest_ratio <= TARGET_INGEST else "MISSED"
        ok2 = "met" if r.whole_ratio <= TARGET_WHOLE else "MISSED"
        note = "" if r.n >= TARGET_SIZE else f" (largest size run is {r.n}, the targets are for {TARGET_SIZE})"
        out.append(f"{r.n} files{note}: ingest+audit {r.ingest_ratio:.2f}x the single-process floor "
                   f"(target <= {TARGET_INGEST}x: {ok1}); whole run {r.whole_ratio:.2f}x "
                   f"(target <= {TARGET_WHOLE}x: {ok2})")
    return out


def machine() -> str:
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores (os.cpu_count), "
            f"Python {platform.python_version()}")


def code_version() -> str:
    """qc_batch's version, and the git commit when run from a checkout (``+`` = uncommitted changes)."""
    import qc_batch

    text = f"qc_batch {qc_batch.__version__}"
    root = Path(qc_batch.__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "qc_batch"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text} (commit {head}{'+' if dirty else ''})"


def report(rows: list[Row], cores: int, workers: int | None, gen: str, version: str) -> tuple[str, str]:
    th = [h.format(cores=cores) for h in TIME_HEAD]
    trows = [time_cells(r) for r in rows]
    mrows = [mem_cells(r) for r in rows]
    wk = workers or f"default ({cores})"
    text = "\n".join([
        f"machine: {machine()}; {version}; run_batch/qc-batch workers: {wk}",
        gen, "", "time (wall clock; floor = plain calamine read of every sheet + defined names, one process)",
        text_table(th, trows), "", "memory (peak RSS)", text_table(MEM_HEAD, mrows), "",
        *verdicts(rows),
    ])
    md = "\n".join([
        f"Machine: {machine()}; {version}; workers: {wk}. {gen}", "",
        "Time (wall clock, seconds unless stated; `x floor` = ratio to the single-process floor):", "",
        md_table(th, trows), "",
        "Memory (peak resident set size, MB; `growth` = run_batch peak minus the process's size before the call, "
        "per unit):", "",
        md_table(MEM_HEAD, mrows), "",
        *(f"- {v}" for v in verdicts(rows)), "",
    ])
    return text, md


# -- profile mode -----------------------------------------------------------------------


def profile(folder: Path, outdir: Path, top: int) -> None:
    """cProfile the whole ``qc-batch run --workers 1`` in this process (ingest, audit and outputs)."""
    import cProfile
    import pstats

    from qc_batch.cli import main as cli_main

    n = len(workbooks(folder))
    t0 = time.perf_counter()
    for p in workbooks(folder):
        plain_read(p)
    print(f"floor, one process, {n} files: {time.perf_counter() - t0:.2f} s")
    cmd = ["run", "--input", str(folder), "--output", str(outdir), "--quiet", "--workers", "1"]
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    try:
        cli_main(cmd)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise RuntimeError(f"qc-batch run failed (exit {exc.code})") from None
    finally:
        prof.disable()
    print(f"qc-batch run --workers 1, {n} files: {time.perf_counter() - t0:.2f} s (under cProfile)")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


# -- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000], help="numbers of workbooks")
    ap.add_argument("--workers", type=int, default=None, help="worker processes for run_batch and qc-batch run "
                    "(default: their own default, one per core)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "qc-batch-bench",
                    help="folder where generated workbooks are kept between runs (default: %(default)s)")
    ap.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    ap.add_argument("--repeat", type=int, default=1, help="floor passes; the fastest counts (default 1)")
    ap.add_argument("--profile", type=int, metavar="N",
                    help="instead: cProfile the whole `qc-batch run --workers 1` on N files")
    ap.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    ap.add_argument("--child-run-batch", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-floor", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child_run_batch:
        child_run_batch(args.child_run_batch, args.workers)
        return 0
    if args.child_floor:
        child_floor(args.child_floor, args.repeat)
        return 0
    if any(n < 1 for n in args.sizes) or (args.workers is not None and args.workers < 1) or args.repeat < 1:
        ap.error("sizes, --workers and --repeat must be positive")

    cores = os.cpu_count() or 1
    version_at_start = code_version()
    cache = args.cache.resolve()
    units_dir = cache_folder(cache)
    drop_stale(cache, units_dir)
    biggest = args.profile or max(args.sizes)
    made, gen_s = ensure_workbooks(units_dir, biggest, cores)
    gen = (f"Generation: {made} new workbooks in {gen_s:.1f} s ({cores} processes; not part of any measurement)."
           if made else f"Generation: all {biggest} workbooks were cached.")
    print(gen, flush=True)

    if args.profile:
        folder = input_folder(cache, units_dir, args.profile)
        try:
            with tempfile.TemporaryDirectory(prefix="qc-batch-profile-") as tmp:
                profile(folder, Path(tmp) / "out", args.top)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return 0

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="qc-batch-bench-") as tmp:
        tmpdir = Path(tmp)
        for n in sorted(set(args.sizes)):
            folder = input_folder(cache, units_dir, n)
            print(f"[{n}] floor ...", flush=True)
            floor = measure_floor(folder, args.repeat, tmpdir)
            floor_s = floor["seconds"]
            print(f"[{n}] floor {floor_s:.2f} s ({1000 * floor_s / n:.1f} ms/file); run_batch ...", flush=True)
            batch = measure_run_batch(folder, args.workers, tmpdir)
            print(f"[{n}] run_batch {batch['seconds']:.2f} s; qc-batch run ...", flush=True)
            cli = measure_cli(folder, args.workers, tmpdir / f"out-{n}", tmpdir)
            print(f"[{n}] qc-batch run {cli['seconds']:.2f} s", flush=True)
            if batch["accepted"] != n or cli["units"] not in (None, n):
                print(f"[{n}] WARNING: {batch['accepted']} accepted by run_batch, {cli['units']} units in "
                      f"results.json, expected {n}", flush=True)
            rows.append(Row(n, floor, cores, batch, cli))
            shutil.rmtree(folder, ignore_errors=True)

    version = code_version()
    if version != version_at_start:
        version = f"{version_at_start} -> {version} (WARNING: qc_batch changed during the benchmark; rerun)"
    text, md = report(rows, cores, args.workers, gen, version)
    print()
    print(text)
    if args.markdown:
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        args.markdown.write_text(f"<!-- benchmarks/run_batch.py, {stamp} -->\n\n{md}", encoding="utf-8")
        print(f"\nMarkdown written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

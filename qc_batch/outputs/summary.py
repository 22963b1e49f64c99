"""``output/summary.docx``: the province's results on a few pages, for the bureau's leadership.

The figures come from the batch (:func:`summary_data`); the wording from the
template ``qc_batch/data/summary.md.j2``, rendered to Markdown and set in Word
by :mod:`qc_batch.outputs.docx_report` like the units' reports. The group
profile chart (each level's average score rate per group) is drawn here.
"""

from __future__ import annotations

import functools
import io
import re
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import jinja2
from PIL import Image, ImageDraw, ImageFont

from qc_batch import codes
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.engine.audit import fmt_points
from qc_batch.engine.scoring import STATUS_FAIL, STATUS_PASS, STATUS_VETO, exact_sum
from qc_batch.outputs.docx_report import markdown_docx
from qc_batch.outputs.report_data import ReportSet, pct
from qc_batch.outputs.reports import cjk_font_path, md
from qc_batch.outputs.stage import local_date, stage_label

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "summary.md.j2"
CHART_NAME = "profile.png"
TOP_INDICATORS = 10
TOP_FINDINGS = 10
UNKNOWN_CITY = "（未能识别）"


def _counts(units: list[UnitResult]) -> dict[str, int]:
    by = Counter(u.score.status for u in units)
    return {"accepted": len(units), "passed": by[STATUS_PASS], "failed": by[STATUS_FAIL], "vetoed": by[STATUS_VETO]}


def _average(units: list[UnitResult]) -> str:
    scored = [Fraction(u.score.total) for u in units if not u.score.vetoed]
    return f"{float(exact_sum(scored) / len(scored)):.1f}" if scored else "—"


def _city(unit: str, parent: str) -> str:
    """The 市州 a unit belongs to: its parent, or itself for a 市州."""
    return parent or unit or UNKNOWN_CITY


def _tables_by(result: BatchResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    files = [f for f in result.files if f.status != codes.SETTINGS]
    levels = list(result.rubric.levels)
    rows_level = []
    for level in levels:
        units = [u for u in result.units if u.entry.level == level]
        rows_level.append({"name": level, "files": sum(1 for f in files if f.level == level), **_counts(units),
                           "missing": sum(1 for e in result.not_submitted if e.level == level),
                           "average": _average(units)})
    unknown = sum(1 for f in files if f.level not in levels)
    total = {"name": "合计", "files": len(files), **_counts(result.units), "missing": len(result.not_submitted),
             "average": "—"}
    if unknown:
        rows_level.append({"name": "层级未能识别", "files": unknown, "accepted": 0, "passed": 0, "failed": 0,
                           "vetoed": 0, "missing": 0, "average": "—"})
    rows_level.append(total)

    order = [_city(e.unit, e.parent) for e in result.settings.expected_units]
    units_by: dict[str, list[UnitResult]] = defaultdict(list)
    for u in result.units:
        units_by[_city(u.entry.unit, u.entry.parent)].append(u)
    files_by = Counter(_city(f.unit, f.parent) for f in files)
    missing_by = Counter(_city(e.unit, e.parent) for e in result.not_submitted)
    names = list(dict.fromkeys(order))
    names += sorted((set(units_by) | set(files_by) | set(missing_by)) - set(names) - {UNKNOWN_CITY})
    names += [UNKNOWN_CITY] if UNKNOWN_CITY in files_by else []
    rows_city = [{"name": n, "files": files_by[n], **_counts(units_by[n]), "missing": missing_by[n]}
                 for n in names]
    rows_city.append({**total, "name": "合计"})
    return rows_level, rows_city


def _rankings(result: BatchResult, rs: ReportSet) -> list[dict[str, Any]]:
    out = []
    for level in result.rubric.levels:
        units = [u for u in result.units if u.entry.level == level]
        if not units:
            continue
        ranks = rs.peers[level].ranks
        units.sort(key=lambda u: (ranks.get(u.id) is None, ranks.get(u.id) or 0, u.entry.unit))
        rows = []
        for u in units:
            sev = Counter(f.severity for f in u.findings)
            rank = ranks.get(u.id)
            rows.append({"rank": "—" if rank is None else rank, "unit": u.entry.unit, "parent": u.entry.parent,
                         "total": f"{u.score.total}", "status": u.score.status,
                         "errors": sev[codes.ERROR], "warnings": sev[codes.WARNING]})
        out.append({"level": level, "parents": any(u.entry.parent for u in units), "rows": rows})
    return out


def _groups(result: BatchResult, rs: ReportSet) -> tuple[list[str], list[dict[str, Any]]]:
    levels = [lv for lv in result.rubric.levels if lv in rs.peers]
    rows = []
    for g in result.rubric.groups:
        vals = []
        for lv in levels:
            avg = rs.peers[lv].group_avg[g.number]
            vals.append({"avg": fmt_points(Fraction(round(avg * 100), 100)), "pct": f"{float(pct(avg, g.max)):.1f}"})
        rows.append({"number": g.number, "name": g.name, "max": g.max, "levels": vals})
    return levels, rows


def _lost(result: BatchResult, rs: ReportSet) -> list[dict[str, Any]]:
    """The indicators that lose most points across the units that are scored (no veto)."""
    scored = [u for u in result.units if not u.score.vetoed]
    if not scored:
        return []
    per_level = Counter(u.entry.level for u in scored)
    # the peers' averages are over exactly these units where a level has any unit without a veto
    exact = all(rs.peers[lv].n == n for lv, n in per_level.items())
    rows = []
    for ind in result.rubric.indicators:
        if exact:
            points = exact_sum([rs.peers[lv].ind_avg[ind.code] * n for lv, n in per_level.items()])
        else:
            points = exact_sum([u.score.indicators[ind.code].points for u in scored])
        total = ind.max * len(scored) - points
        if total <= 0:
            continue
        avg = total / len(scored)
        losing = sum(1 for u in scored if float(u.score.indicators[ind.code].points) < ind.max)
        rows.append({"code": ind.code, "title": ind.title, "max": ind.max, "units": losing,
                     "lost": fmt_points(total), "average": f"{float(avg):.1f}",
                     "pct": f"{float(pct(avg, ind.max)):.1f}", "_key": total})
    rows.sort(key=lambda r: (-r["_key"], [int(n) for n in r["code"].split(".")]))
    return [{k: v for k, v in r.items() if k != "_key"} for r in rows[:TOP_INDICATORS]]


def _findings(result: BatchResult) -> list[dict[str, Any]]:
    count: Counter[str] = Counter()
    units: Counter[str] = Counter()
    about: dict[str, tuple[str, str]] = {}
    for u in result.units:
        seen = set()
        for f in u.findings:
            if f.severity in (codes.ERROR, codes.WARNING):
                count[f.code] += 1
                seen.add(f.code)
                about.setdefault(f.code, (f.title, f.severity))
        units.update(seen)
    order = sorted(count, key=lambda c: (-units[c], -count[c], c))[:TOP_FINDINGS]
    return [{"code": c, "title": about[c][0], "severity": about[c][1], "units": units[c], "count": count[c]}
            for c in order]


def summary_data(result: BatchResult, rs: ReportSet, generated_at: str, chart: bool) -> dict[str, Any]:
    """What the summary shows, as plain data for ``summary.md.j2``."""
    rubric = result.rubric
    by_level, by_city = _tables_by(result)
    levels, groups = _groups(result, rs)
    c = _counts(result.units)
    return {
        "year": result.settings.year, "date": local_date(generated_at), "stage": stage_label(result),
        "full": rubric.total, "pass_mark": rubric.pass_mark,
        "files": {"total": sum(1 for f in result.files if f.status != codes.SETTINGS),
                  "accepted": result.count(codes.ACCEPTED), "superseded": result.count(codes.SUPERSEDED),
                  "rejected": result.count(codes.REJECTED)},
        **c, "expected": len(result.settings.expected_units), "missing": len(result.not_submitted),
        "by_level": by_level, "by_city": by_city, "rankings": _rankings(result, rs),
        "levels": levels, "groups": groups, "chart": chart and bool(levels),
        "lost": _lost(result, rs), "findings": _findings(result),
        "not_submitted": [{"unit": e.unit, "level": e.level, "parent": e.parent} for e in result.not_submitted],
        "rejected": [{"file": f.file, "reason": f.reason} for f in result.files if f.status == codes.REJECTED],
    }


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md"] = md
    return env.from_string(TEMPLATE.read_text(encoding="utf-8"))


def summary_markdown(data: dict[str, Any]) -> str:
    return re.sub(r"\n{3,}", "\n\n", _template().render(s=data))


# -- the group profile chart ---------------------------------------------------------

COLOURS = ("#4472C4", "#ED7D31", "#A5A5A5", "#FFC000")
W, LEFT, RIGHT, TOP, ROW = 960, 250, 60, 80, 52


def profile_chart(data: dict[str, Any]) -> bytes:
    """Horizontal bars: each level's average score rate per group (one series per level), as PNG."""
    font_path = cjk_font_path()
    if font_path is None:
        raise FileNotFoundError("no CJK font")
    levels, groups = data["levels"], data["groups"]
    h = TOP + ROW * len(groups) + 60
    img = Image.new("RGB", (W, h), "white")
    d = ImageDraw.Draw(img)
    title, label, small = (ImageFont.truetype(font_path, s) for s in (26, 18, 15))
    d.text((20, 18), f"{data['year']}年度各类别平均得分率（按层级）", font=title, fill="#1F3864")
    span = W - LEFT - RIGHT
    bottom = TOP + ROW * len(groups)
    for x_pct in range(0, 101, 20):
        x = LEFT + span * x_pct / 100
        d.line([(x, TOP - 6), (x, bottom)], fill="#D9D9D9")
        d.text((x - 12, bottom + 6), f"{x_pct}%", font=small, fill="#595959")
    bar = (ROW - 12) / max(1, len(levels))
    for k, g in enumerate(groups):
        y = TOP + k * ROW
        d.text((20, y + ROW / 2 - 10), f"{g['number']} {g['name']}", font=label, fill="#262626")
        ends = [LEFT + span * float(v["pct"]) / 100 for v in g["levels"]]
        for j, (v, end) in enumerate(zip(g["levels"], ends, strict=True)):
            y0 = y + 6 + j * bar
            d.rectangle([LEFT, y0, max(LEFT, end), y0 + bar - 2], fill=COLOURS[j % len(COLOURS)])
            # the figures beside the longest bar of the group: none runs into a longer bar below it
            d.text((max(ends) + 6, y0 + bar / 2 - 9), f"{v['pct']}%", font=small, fill="#262626")
    x = LEFT
    for j, lv in enumerate(levels):
        d.rectangle([x, h - 28, x + 18, h - 16], fill=COLOURS[j % len(COLOURS)])
        d.text((x + 24, h - 31), f"{lv}平均得分率", font=small, fill="#262626")
        x += 190
    buf = io.BytesIO()
    img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def write_summary(path: Path, result: BatchResult, rs: ReportSet, generated_at: str, charts: bool) -> None:
    """``summary.docx`` of the batch (``rs`` holds the peers' figures of every level)."""
    data = summary_data(result, rs, generated_at, charts)
    images = {CHART_NAME: profile_chart(data)} if data["chart"] else {}
    path.write_bytes(markdown_docx(summary_markdown(data), images))

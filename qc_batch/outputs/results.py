"""``results.json``: the machine-readable outcome of a run (schema in docs/results.md).

Stable: keys are only ever added, never renamed or removed; ``schema_version``
changes when they are. A rerun on the same input gives the same bytes apart
from ``generated_at``.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from qc_batch import __version__, codes
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.history.view import previous_of
from qc_batch.read.cells import Reading, is_blank, read_text, shown

SCHEMA = "qc-batch/results"
SCHEMA_VERSION = 1


def num(x: Fraction | Decimal | int | None, places: int = 2) -> float | int | None:
    """An exact value as a JSON number, half-up (away from zero) to ``places`` decimals;
    whole values as integers."""
    if x is None:
        return None
    if isinstance(x, Decimal):
        d = x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return int(d) if d == d.to_integral_value() else float(d)
    n, den = (x.numerator, x.denominator) if isinstance(x, Fraction) else (int(x), 1)
    scale = 10**places
    q = (2 * abs(n) * scale + den) // (2 * den)  # |x| * scale, half-up
    q = -q if n < 0 else q
    # an int, or the float nearest the rounded decimal (int / int is correctly rounded)
    return q // scale if q % scale == 0 else q / scale


def unit_dict(u: UnitResult) -> dict[str, Any]:
    r = u.sheet.data
    rubric_inds = u.score.indicators
    doc = u.document or u  # the document-review result (the same before a review)
    submitted = doc.sheet.data
    claims = {code: c.value for code, c in r.claims.items()}
    claimed_total = r.claimed_total
    e = u.entry
    return {
        "id": u.id,
        "unit": e.unit,
        "level": e.level,
        "parent": e.parent,
        "year": e.year,
        "file": e.file,
        "sha256": e.sha256,
        "date": e.date,
        "contact": {"name": r.text("QC_CONTACT") or "", "phone": read_text(r.raw.get("QC_PHONE")) or "",
                    "email": r.text("QC_EMAIL") or ""},
        "status": u.score.status,
        "total": num(u.score.total, 1),
        "raw_total": num(u.score.raw_total),
        "na_points": u.score.na_points,
        "claimed_total": num(claimed_total),
        "complete": u.score.complete,
        "completeness": num(u.score.completeness, 4),
        "missing_inputs": list(u.score.missing),
        "vetoes": [v for v in u.score.vetoes],
        "indicators": {
            code: {"score": num(s.points), "max": s.indicator.max, "claimed": num(claims.get(code)),
                   "na_points": s.na_points, "document_score": num(doc.score.indicators[code].points),
                   "inputs": {i.code: submitted_text(submitted.readings[i.code]) for i in s.indicator.inputs},
                   "evidence": submitted.evidence.get(code) or ""}
            for code, s in rubric_inds.items()
        },
        "document_total": num(doc.score.total, 1),
        "document_status": doc.score.status,
        "review": None if u.review is None else u.review.to_dict(num),
        "ranking": {
            code: {"value": num(st.value, 6), "rank": st.rank, "peers": st.peers, "band": st.band}
            for code, st in u.standings.items()
        },
        "findings": [f.to_dict() for f in u.findings],
    }


def submitted_text(r: Reading) -> str:
    """A submitted value as the cell showed it ("" when blank)."""
    raw = r.raw
    if raw is None:
        return ""
    # Keyed by type as well: 1, 1.0 and True are equal keys but show differently.
    key = (type(raw), raw)
    try:
        return _SHOWN[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value: shown without the memo
        return "" if is_blank(raw) else shown(raw)
    text = "" if is_blank(raw) else shown(raw)
    if len(_SHOWN) < _SHOWN_MAX:
        _SHOWN[key] = text
    return text


# The shown text of a submitted value, by value: most units submit the same few values
# (0, 1, 是, 否, ...) for about 140 inputs each, and showing one cleans its text each time.
# ``shown`` depends on the value alone, so the memo never goes stale; it is bounded.
_SHOWN: dict[tuple[type, Any], str] = {}
_SHOWN_MAX = 50_000


def results_dict(b: BatchResult, generated_at: str) -> dict[str, Any]:
    rubric = b.rubric
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "stage": getattr(b, "stage", "document"),
        "tool": {"name": "qc-batch", "version": __version__},
        "rubric": {"id": rubric.id, "version": rubric.version, "total": rubric.total, "pass_mark": rubric.pass_mark},
        "settings": b.settings.describe(),
        "summary": {
            "files": len(b.files),
            "accepted": b.count(codes.ACCEPTED),
            "superseded": b.count(codes.SUPERSEDED),
            "rejected": b.count(codes.REJECTED),
            "pass": b.status_count("合格"),
            "fail": b.status_count("不合格"),
            "veto": b.status_count("不予受理"),
            "not_submitted": len(b.not_submitted),
        },
        "files": [f.to_dict() for f in b.files],
        "not_submitted": [{"unit": e.unit, "level": e.level, "parent": e.parent} for e in b.not_submitted],
        "reviews": [f.to_dict() for f in getattr(b, "reviews", [])],
        "units": [{**unit_dict(u), "previous": previous_of(getattr(b, "history", None), u.id)} for u in b.units],
    }


def results_json(b: BatchResult, generated_at: str) -> bytes:
    """The document, one top-level key a line and one file or unit a line (grep-friendly,
    and written by the json module's fast encoder)."""
    lines = ["{"]
    doc = results_dict(b, generated_at)
    for k, (key, value) in enumerate(doc.items()):
        comma = "," if k < len(doc) - 1 else ""
        head = f" {json.dumps(key)}: "
        if isinstance(value, list) and value:
            lines.append(head + "[")
            lines += [f"  {_line(item)}," for item in value[:-1]]
            lines += [f"  {_line(value[-1])}", f" ]{comma}"]
        else:
            lines.append(head + _line(value) + comma)
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

"""The audit's findings: a code of :mod:`qc_batch.codes`, a Chinese message and where it points.

Severity and title come from the catalogue; a code that is not declared there is refused
when the finding is made.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from qc_batch.codes import CATALOGUE, FINDING, SEVERITIES


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    indicator: str = ""      # indicator code, e.g. "2.4"
    input: str = ""          # input code, e.g. "2.4.c1"
    cell: str = ""           # e.g. "评分表!H23"
    value: str = ""          # the value found, as text
    points: str = ""         # points at stake, when it matters (e.g. over-claim)
    name: str = ""           # the cell's defined name, e.g. "QC_2_4_c1" (stable when rows move)

    def __post_init__(self) -> None:
        entry = CATALOGUE.get(self.code)
        if entry is None or entry.kind != FINDING:
            raise ValueError(f"finding code {self.code!r} is not in qc_batch.codes")

    @property
    def severity(self) -> str:
        return CATALOGUE[self.code].level

    @property
    def title(self) -> str:
        return CATALOGUE[self.code].title

    def to_dict(self) -> dict[str, Any]:
        c = CATALOGUE[self.code]
        severity, title = c.level, c.title
        return {"code": self.code, "severity": severity, "title": title, "message": self.message,
                "indicator": self.indicator, "input": self.input, "cell": self.cell, "value": self.value,
                "points": self.points, "name": self.name}


SEVERITY_ORDER = {s: k for k, s in enumerate(SEVERITIES)}


def sort_key(f: Finding) -> tuple:
    return (_code_order(f.indicator), SEVERITY_ORDER[f.severity], f.input, f.code)


@functools.lru_cache(maxsize=256)
def _code_order(code: str) -> tuple[int, ...]:
    return tuple(int(x) for x in code.split(".")) if code else (0,)

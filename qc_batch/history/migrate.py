"""``qc-batch migrate``: a workbook of an older template version into the current template.

The batch refuses a sheet of another template or rubric version (``OLD_TEMPLATE``).
Migration reads such a workbook once, with openpyxl (which reads any workbook's defined
names and cells), maps every named input to the current template by :data:`VERSIONS`,
and writes the current template filled with what maps, with a list of what did not and why.

:data:`VERSIONS` is the table of template versions: for each, the names that were
renamed (old -> current) and the names that no longer exist (old -> why). A name not in
the table maps to the current name it equals. When Table A.1 changes, the new template
version adds one entry here.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qc_batch.batch.run import safe_file_stem
from qc_batch.engine.scoring import Policy
from qc_batch.errors import EXIT_IO, UserError
from qc_batch.read import cells
from qc_batch.read.sheet_data import cached_results, interpret
from qc_batch.read.workbook import WorkbookError, read_workbook
from qc_batch.rubric.model import Rubric, load_rubric
from qc_batch.sheet import names as sn
from qc_batch.sheet.writer import Fill, build, write_score_sheet


@dataclass(frozen=True)
class VersionMap:
    """How one earlier template version's names map to the current template."""

    note: str
    renamed: Mapping[str, str] = field(default_factory=dict)   # old name -> current name
    dropped: Mapping[str, str] = field(default_factory=dict)   # old name -> why it has no place now


#: template version -> its mapping (the current version maps every name to itself)
VERSIONS: dict[str, VersionMap] = {
    sn.TEMPLATE_VERSION: VersionMap("现行模板（依据征求意见稿附录 A 表 A.1）"),
}

_IDENTITY = (sn.NAME_TEMPLATE_ID, sn.NAME_TEMPLATE_VERSION, sn.NAME_RUBRIC_ID, sn.NAME_RUBRIC_VERSION)


@dataclass
class Migration:
    source: Path
    target: Path | None
    old_version: str
    old_rubric: str
    note: str
    mapped: dict[str, Any] = field(default_factory=dict)            # current name -> value
    unmapped: list[tuple[str, str, str]] = field(default_factory=list)  # (old name, value, why)
    not_in_old: list[str] = field(default_factory=list)              # current inputs the old sheet had no value for

    def report(self) -> str:
        """What did not map and why, in Markdown (written beside the migrated workbook)."""
        lines = [f"# 评分表迁移说明：{self.source.name}", "",
                 f"- 原模板版本 {self.old_version or '未知'}，评分规则 {self.old_rubric or '未知'}；{self.note}",
                 f"- 迁移后文件：{self.target.name if self.target else '（未生成）'}",
                 f"- 已迁移 {len(self.mapped)} 个单元格；未能迁移 {len(self.unmapped)} 个；"
                 f"现行模板中原表没有对应值的填报项 {len(self.not_in_old)} 个", ""]
        if self.unmapped:
            lines += ["## 未能迁移的单元格", "", "| 原单元格名称 | 原值 | 原因 |", "|---|---|---|"]
            lines += [f"| {n} | {v} | {why} |" for n, v, why in self.unmapped]
            lines.append("")
        if self.not_in_old:
            lines += ["## 需要补填的填报项（原表没有对应值）", "", "、".join(self.not_in_old), ""]
        return "\n".join(lines)


def _table_text(v: Any) -> str:
    return cells.shown(v).replace("|", "｜") if v is not None else ""


def read_named_cells(path: Path) -> dict[str, Any]:
    """Every workbook-scoped defined name of one cell, with that cell's value: read with openpyxl
    (which reads any workbook's names and cells) once the batch's reader has found it safe."""
    import openpyxl

    try:
        read_workbook(path, {})  # the batch's own checks first: size, zip bombs, XML with DTDs, encryption
        wb = openpyxl.load_workbook(path, data_only=True)
    except WorkbookError as exc:
        raise UserError(f"{path.name}：{exc.message}", EXIT_IO) from None
    except Exception as exc:  # openpyxl raises many kinds for files that are not workbooks
        raise UserError(f"无法读取 {path.name}（{type(exc).__name__}）；请确认它是 .xlsx 格式的评分表", EXIT_IO) from None
    out: dict[str, Any] = {}
    for name, dn in wb.defined_names.items():
        try:
            dests = list(dn.destinations)
        except Exception:  # a name that is not a plain reference (#REF!, a formula)
            continue
        if len(dests) != 1 or dests[0][0] not in wb.sheetnames or ":" in dests[0][1]:
            continue  # not one cell: a list or a range of the template
        sheet, coord = dests[0]
        try:
            value = wb[sheet][coord.replace("$", "")].value
        except (ValueError, KeyError):
            continue
        out[name] = value
    wb.close()
    return out


def _current_names(rubric: Rubric) -> dict[str, Any]:
    """Every name a unit fills in the current template: name -> the input (or None for text)."""
    names: dict[str, Any] = {h.name: None for h in sn.HEADER_FIELDS}
    names.update({sn.veto_name(k): "veto" for k in range(1, len(rubric.vetoes) + 1)})
    for ind in rubric.indicators:
        names.update({i.name: i for i in ind.inputs})
        names[ind.claim_name] = "claim"
        names[ind.evidence_name] = None
    return names


def migrate_workbook(path: Path, to: Path, *, rubric: Rubric | None = None, policy: Policy | None = None,
                     versions: Mapping[str, VersionMap] | None = None) -> Migration:
    """Map one older workbook to the current template; write ``<名称>_迁移.xlsx`` and
    ``<名称>_迁移说明.md`` into ``to``."""
    rubric = rubric or load_rubric()
    versions = VERSIONS if versions is None else versions
    raw = read_named_cells(path)
    if str(raw.get(sn.NAME_TEMPLATE_ID) or "") != sn.TEMPLATE_ID:
        raise UserError(f"{path.name} 不是省局下发的评分表（找不到模板标识），无法迁移", EXIT_IO)
    old_version = cells.shown(raw.get(sn.NAME_TEMPLATE_VERSION)) if raw.get(sn.NAME_TEMPLATE_VERSION) is not None else ""
    old_rubric = str(raw.get(sn.NAME_RUBRIC_VERSION) or "")
    vmap = versions.get(old_version)
    note = vmap.note if vmap else "该模板版本不在迁移对照表中，按同名单元格迁移，请逐项核对"
    vmap = vmap or VersionMap(note)
    current = _current_names(rubric)
    m = Migration(path, None, old_version, old_rubric, note)
    for old, value in sorted(raw.items()):
        if old in _IDENTITY or not old.startswith("QC_"):
            continue
        if old in vmap.dropped:
            if not cells.is_blank(value):
                m.unmapped.append((old, _table_text(value), vmap.dropped[old]))
            continue
        new = vmap.renamed.get(old, old)
        if new not in current:
            if not cells.is_blank(value) and not _is_formula_name(old):
                m.unmapped.append((old, _table_text(value), "现行模板中没有该单元格（填报项已删除或改名，对照表中无记录）"))
            continue
        if cells.is_blank(value):
            continue
        target = current[new]
        if hasattr(target, "kind"):
            reading = cells.read_value(target, value)
            if reading.value is None:
                m.unmapped.append((old, _table_text(value), f"按现行规则无法识别（{new}：应填写{target.expected_text()}）"))
                continue
            if target.kind == "tier":  # the current option text, whatever the old wording
                value = next(o.display for o in target.options if o.letter == reading.value)
        m.mapped[new] = value
    m.not_in_old = [i.code for i in rubric.inputs if i.name not in m.mapped]
    to.mkdir(parents=True, exist_ok=True)
    stem = safe_file_stem(str(m.mapped.get("QC_UNIT") or path.stem))
    m.target = to / f"{stem}_迁移.xlsx"
    policy = policy or Policy()
    values = {k: (v if not isinstance(v, dt.time) else str(v)) for k, v in m.mapped.items()}
    write_score_sheet(m.target, rubric, policy=policy,
                      fill=Fill(values, cached_results(rubric, interpret(rubric, values), policy)))
    (to / f"{stem}_迁移说明.md").write_text(m.report(), encoding="utf-8")
    return m


@functools.lru_cache(maxsize=1)
def _template_names() -> frozenset[str]:
    """Every named cell of the current template (written in memory once)."""
    return frozenset(build(io.BytesIO(), load_rubric(), Policy(), Fill()).cells)


def _is_formula_name(name: str) -> bool:
    """Names of the template's own cells that a unit does not fill (scores, totals, lists,
    hidden helpers), in this or an older version: never inputs."""
    return (name in _template_names() or name.endswith(("_SCORE", "_BEST", "_MISSING", "_CLAIM_TOTAL"))
            or name.startswith(("QC_GROUP_", "QC_DD_")))

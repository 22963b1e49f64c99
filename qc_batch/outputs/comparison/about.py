"""说明: how the figures were made (standard, settings, references, files, time and tool)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from qc_batch import __version__, codes
from qc_batch.batch.run import BatchResult
from qc_batch.engine.numbers import to_float
from qc_batch.outputs.comparison.table import ANY, Column, Formats, Page, Styled, Table, write_table_sheet
from qc_batch.rubric.expr import REFERENCES

SHEET = "说明"
NA_POLICIES = {"prorate": "按比例折算（总分 = 得分合计 × 满分 ÷（满分 − 合理缺项分值））", "full": "按满分计入"}


def number(x: Fraction) -> Styled | str:
    """A reference value as a number cell; one a float cannot hold exactly enough, as exact text."""
    f = to_float(x)
    if f and abs(f) < 1e-9:
        return str(x)
    return Styled(f, "decimal")


def rows(b: BatchResult, page: Page) -> list[tuple[str, object]]:
    r, s = b.rubric, b.settings
    described = s.describe()
    out: list[tuple[str, object]] = [
        ("评分依据", f"{r.standard}（评分规则 {r.id}，版本 {r.version}）"),
        ("满分 / 合格线", f"{r.total} 分 / {r.pass_mark} 分"),
    ]
    for ref, about in REFERENCES.items():
        value = s.policy.refs.get(ref)
        if value is None:
            users = "、".join(r.reference_users(ref))
            out.append((about.label, f"未提供（{users} 按 0 分计）"))
        else:
            out.append((f"{about.label}（{about.unit}）", number(value)))
    out += [
        ("合理缺项", NA_POLICIES.get(s.policy.na_policy, s.policy.na_policy)),
        ("排名项前列比例", f"同级单位的前 {described['rank_fraction']}"),
        ("未申报单位参考数据", f"{described['peer_reference']} 个单位"),
        ("应报送单位名册", f"{described['expected_units']} 个单位"),
        ("设置文件", Path(str(described["source"])).name if described["source"] else "未使用（按默认设置）"),
        ("输入文件夹", b.input_dir.name),
        ("文件数", f"{len(b.files)} 个：{codes.STATUS_LABELS[codes.ACCEPTED]} {b.count(codes.ACCEPTED)}，"
                   f"{codes.STATUS_LABELS[codes.SUPERSEDED]} {b.count(codes.SUPERSEDED)}，"
                   f"{codes.STATUS_LABELS[codes.REJECTED]} {b.count(codes.REJECTED)}"),
        ("生成时间（北京时间）", page.when),
        ("生成工具", f"qc-batch {__version__}"),
        ("计分方法", f"各项得分按单位填报值重新计算，不采用工作簿内的公式结果；排名项按同级单位"
                     f"（{'、'.join(r.levels)}分别）比较；{r.expert_text} 须由验收专家现场核定，"
                     f"本表按填报内容暂计。"),
    ]
    return out


def columns() -> list[Column]:
    return [Column("项目", 28, lambda row: row[0], "head"),
            Column("内容", 90, lambda row: row[1], "wrap", kind=ANY)]


def write(wb, fmts: Formats, page: Page, b: BatchResult) -> Table:
    _ws, table = write_table_sheet(wb, fmts, page, SHEET, columns(), rows(b, page), freeze_cols=0,
                                   landscape=False, filter=False)
    return table

"""Realistic sample filled workbooks (示例数据), deterministic by seed.

Fourteen 市州 and a dozen 县市区 of Hunan, with a spread of results: strong
and weak units, one veto, over-claimed scores, unreadable values, missing
evidence, a unit without a port (合理缺项) and one unit that sent two versions.
All names of people, phones and addresses are made up and marked 示例.

Every workbook carries the sample mark (:mod:`qc_batch.read.sample_mark`), so
that a run lists it as sample data and never lets it compete with a real
submission; the settings file starts with :data:`SETTINGS_MARK`. ``write_samples``
refuses a folder that holds workbooks or a settings file it did not make.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from qc_batch.engine.scoring import Policy
from qc_batch.errors import EXIT_IO, UserError
from qc_batch.read.sample_mark import is_sample, mark
from qc_batch.read.sheet_data import cached_results, interpret, sheet_view
from qc_batch.rubric.model import Input, Rubric, load_rubric
from qc_batch.rubric.regions import hunan
from qc_batch.settings import Settings, parse_settings
from qc_batch.sheet import names as sn
from qc_batch.sheet.writer import Fill, write_score_sheet

COUNTIES = [
    ("浏阳市", "长沙市"), ("长沙县", "长沙市"), ("醴陵市", "株洲市"), ("攸县", "株洲市"),
    ("湘乡市", "湘潭市"), ("韶山市", "湘潭市"), ("耒阳市", "衡阳市"), ("汨罗市", "岳阳市"),
    ("资兴市", "郴州市"), ("桃江县", "益阳市"), ("凤凰县", "湘西土家族苗族自治州"), ("武冈市", "邵阳市"),
]
# Broad strength of each unit's quality work (probability of doing each item).
STRENGTH = {
    "长沙市": 0.97, "株洲市": 0.96, "湘潭市": 0.93, "衡阳市": 0.85, "邵阳市": 0.72, "岳阳市": 0.88,
    "常德市": 0.86, "张家界市": 0.7, "益阳市": 0.78, "郴州市": 0.84, "永州市": 0.74, "怀化市": 0.7,
    "娄底市": 0.76, "湘西土家族苗族自治州": 0.62,
    "浏阳市": 0.94, "长沙县": 0.95, "醴陵市": 0.9, "攸县": 0.75, "湘乡市": 0.8, "韶山市": 0.82,
    "耒阳市": 0.66, "汨罗市": 0.79, "资兴市": 0.85, "桃江县": 0.64, "凤凰县": 0.7, "武冈市": 0.6,
}
VETO_UNIT = "耒阳市"
OVER_CLAIMERS = ("邵阳市", "攸县", "桃江县")
BAD_VALUE_UNITS = ("永州市", "武冈市")
NO_PORT_UNITS = ("张家界市", "韶山市", "凤凰县")
NO_EVIDENCE_UNITS = ("怀化市", "汨罗市")
TWO_VERSIONS = "湘潭市"
NOT_SUBMITTED = (("新化县", "娄底市"), ("宁远县", "永州市"))
SURNAMES = "王李张刘陈杨黄赵周吴"
GIVEN = ("伟", "芳", "敏", "静", "强", "磊", "洋", "艳", "勇", "军")

REFERENCES = {
    "export_notification_ratio_national": Fraction("0.0031"),
    "special_equipment_death_rate_national": Fraction("0.13"),
}


@dataclass(frozen=True)
class SampleSet:
    workbooks: list[Path]
    settings: Path


def _units() -> list[tuple[str, str, str]]:
    r = load_rubric()
    return [(p, r.city_level, "") for p in hunan()] + [(c, r.county_level, p) for c, p in COUNTIES]


def _evidence(unit: str, code: str, rng: random.Random) -> str:
    year = rng.choice((2024, 2025, 2026))
    return f"（示例）{unit}关于指标{code}的工作文件（{unit[:2]}政办发〔{year}〕{rng.randint(3, 60)}号）"


def _value(inp: Input, unit: str, level: str, s: float, rng: random.Random) -> Any:
    """A plausible raw cell value for ``inp`` for a unit of strength ``s``."""
    good = rng.random() < s
    big = level == load_rubric().city_level
    code = inp.code
    if inp.kind == "bool":
        if code == "3.5.b1":
            return "否" if unit in NO_PORT_UNITS else "是"
        return "是" if good else "否"
    if inp.kind == "tier":
        opts = inp.options
        if inp.indicator == "5.4":
            return opts[0].display if good else opts[1].display
        return opts[0].display if good else rng.choice(opts[1:]).display
    if inp.kind == "rank":
        return rng.randint(1, 5) if good else rng.randint(4, 14)
    if code == "1.3.b":
        return round(rng.uniform(300000, 1200000) if big else rng.uniform(15000, 90000), 1)
    if code == "1.3.a":
        return None  # derived below from 1.3.b
    if code == "5.1.g":
        return round(rng.uniform(1200, 14000) if big else rng.uniform(150, 1600), 2)
    if code == "5.1.h":
        return round(rng.uniform(150, 700) if big else rng.uniform(20, 120), 2)
    if code == "5.1.a2":
        return round(rng.uniform(50, 1500) * s, 1)
    if code in ("5.1.b", "5.1.c", "5.1.d"):
        return rng.randint(0, 12 if big else 4) if good else rng.randint(0, 2)
    if code == "5.2.a2":
        return rng.randint(3, 30 if big else 10) if good else rng.randint(0, 3)
    if code == "5.3.b2":
        return round(rng.uniform(200, 600) if big else rng.uniform(15, 70), 1)
    if code == "5.3.b1":
        return None  # derived from b2
    if code in ("6.3.b1",):
        return 0 if good else rng.randint(1, 3)
    if code == "6.3.b3":
        return rng.randint(800, 20000) if big else rng.randint(0, 3000)
    if code == "6.3.b2":
        return None  # derived from b3
    if code == "6.4.b1":
        return rng.randint(20000, 90000) if big else rng.randint(2000, 15000)
    if code == "6.4.b2":
        return 0 if good else rng.randint(1, 3)
    if inp.kind == "pct":
        if inp.year_offset is not None:
            return None  # series, below
        threshold = float(max(load_rubric().thresholds(code), default=90))  # the rubric's own threshold
        if good:
            v = min(100.0, threshold + rng.choice((0, 0, 0.3, 0.8, 1.5)))
        else:
            v = threshold - rng.choice((0.2, 0.5, 1.1, 2.6, 6.0))
        v = round(v, 1)
        return round(v / 100, 4) if rng.random() < 0.25 else v  # some write fractions
    if inp.kind == "num" and inp.upper is not None:
        return None  # satisfaction series and 10.4.b, below
    if inp.kind == "int":
        threshold = int(max(load_rubric().thresholds(code), default=1))
        return threshold + rng.randint(0, 3) if good else max(0, threshold - rng.randint(1, 2))
    return round(rng.uniform(1, 100), 1)


def _unit_values(rubric: Rubric, unit: str, level: str, parent: str, year: int,
                 rng: random.Random, idx: int) -> dict[str, Any]:
    s = STRENGTH[unit]
    v: dict[str, Any] = {}
    for inp in rubric.inputs:
        v[inp.name] = _value(inp, unit, level, s, rng)
    # derived figures, so that ratios land around the thresholds
    b = v["QC_1_3_b"]
    permille = rng.choice((1.2, 1.0, 0.8, 0.6)) if rng.random() < s else rng.choice((0.5, 0.35, 0.2))
    v["QC_1_3_a"] = round(b * permille / 1000, 1)
    emp = v["QC_5_3_b2"]
    v["QC_5_3_b1"] = int(emp * (rng.choice((2.0, 2.4, 3.1)) if rng.random() < s else rng.choice((1.2, 0.7))))
    b3 = v["QC_6_3_b3"]
    ratio = float(REFERENCES["export_notification_ratio_national"])
    v["QC_6_3_b2"] = int(b3 * ratio * (0.5 if rng.random() < s else 1.6))
    for base, start in (("QC_7_3_a", 1), ("QC_7_3_a", 4)):
        rising = rng.random() < s
        first = round(rng.uniform(40, 70), 1)
        steps = (rng.uniform(1, 5), rng.uniform(1, 5)) if rising else (rng.uniform(-2, 3), rng.uniform(-3, 1))
        vals = [first, round(first + steps[0], 1), round(first + steps[0] + steps[1], 1)]
        for k, val in enumerate(vals):
            v[f"{base}{start + k}"] = min(val, 100.0)
    first = round(rng.uniform(75, 84), 1)
    if rng.random() < s:
        series = [first, round(first + rng.uniform(0.5, 2), 1)]
    else:
        series = [first, round(first - rng.uniform(0, 1.5), 1)]
    series.append(round(series[1] + rng.uniform(0.3, 2) * (1 if rng.random() < s else -1), 1))
    for k, val in enumerate(series, start=1):
        v[f"QC_8_6_a{k}"] = val
    v["QC_10_4_b"] = round(rng.uniform(78, 92) * (0.9 + s / 10), 1)
    if v["QC_2_4_d1"] == "否":
        v["QC_2_4_d2"] = None
    if v["QC_5_1_a1"] == "否":
        v["QC_5_1_a2"] = None
    if v["QC_3_5_b1"] == "否":
        v["QC_3_5_b2"] = None
    # header
    v.update({
        "QC_UNIT": unit,
        "QC_LEVEL": level,
        "QC_PARENT": parent or None,
        "QC_YEAR": year,
        "QC_CONTACT": f"{SURNAMES[idx % 10]}{GIVEN[(idx * 7) % 10]}（示例）",
        "QC_PHONE": f"0731-8{idx:03d}{rng.randint(1000, 9999)}",
        "QC_EMAIL": f"zlqs{idx:02d}@example.com",
        "QC_DATE": dt.datetime(year, 3, 1) + dt.timedelta(days=rng.randint(0, 40)),
    })
    for k in range(1, len(rubric.vetoes) + 1):
        v[sn.veto_name(k)] = "否"
    return v


def _claims(rubric: Rubric, unit: str, values: dict[str, Any], policy: Policy,
            rng: random.Random) -> None:
    """Self-assessed scores: mostly what the sheet shows, some over-claimed."""
    data = interpret(rubric, values)
    view = sheet_view(rubric, data, policy, optimistic=True)
    for ind in rubric.indicators:
        pts = view.indicators[ind.code].points
        claim: Fraction | int = pts
        if unit in OVER_CLAIMERS and rng.random() < 0.3 and pts < ind.max:
            claim = ind.max
        values[ind.claim_name] = float(claim)
        if pts > 0 and not (unit in NO_EVIDENCE_UNITS and rng.random() < 0.4):
            values[ind.evidence_name] = _evidence(unit, ind.code, rng)
        else:
            values[ind.evidence_name] = None


def _distinct_ranks(rubric: Rubric, level: str, values: dict[str, Any],
                    taken: dict[tuple[str, str], set[int]]) -> None:
    """Province ranks are a permutation: no two sample units of a level claim the same rank of the same measure.

    A drawn rank already claimed by an earlier unit of the level (or beyond the number of sample units of
    the level, the sample register) moves to the next free rank, as real submissions would not collide
    (they would get RANK_CLAIM_CONFLICT if they did).
    """
    peers = sum(1 for _, lv, _ in _units() if lv == level)
    for inp in rubric.inputs:
        if inp.kind != "rank" or values.get(inp.name) is None:
            continue
        used = taken.setdefault((level, inp.name), set())
        free = [r for r in range(1, peers + 1) if r not in used]
        if not free:
            continue
        rank = values[inp.name]
        rank = min((r for r in free if r >= rank), default=free[0])
        used.add(rank)
        values[inp.name] = rank


def sample_units(rubric: Rubric, year: int, seed: int, policy: Policy) -> list[dict[str, Any]]:
    """Raw named-cell values of every sample unit, in a fixed order."""
    rng = random.Random(seed)
    out = []
    taken: dict[tuple[str, str], set[int]] = {}
    for idx, (unit, level, parent) in enumerate(_units(), start=1):
        v = _unit_values(rubric, unit, level, parent, year, rng, idx)
        _distinct_ranks(rubric, level, v, taken)
        _claims(rubric, unit, v, policy, rng)
        if unit == VETO_UNIT:
            v[sn.veto_name(2)] = "是"
        if unit in BAD_VALUE_UNITS:
            v["QC_6_1_a"] = "约95%"
            v["QC_2_6_b"] = -2
            v["QC_8_5_b"] = "三个"
            v["QC_7_2_a"] = 120
        out.append(v)
    return out


SETTINGS_MARK = "# 由 qc-batch sample 生成的示例设置文件（示例数据）"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et")
SETTINGS_TEMPLATE = SETTINGS_MARK + """
# 质量强市（区、县）评价 年度设置文件（示例数据）
# 由省局每年填写一次；qc-batch run 默认读取 input/settings.yaml。
# 以 # 开头的行是说明，不影响运行。

# 评价年度：只受理“评价年度”与此相同的工作簿
year: {year}

# 全国平均参考值（每年由省局按国家公布的数据填写）；缺少时对应子项按 0 分计并提示
references:
  # 全国出口商品遭境外通报比率（通报次数 / 出口批次，填小数）：用于 6.3 第二项
  export_notification_ratio_national: {export}
  # 全国万台特种设备事故死亡率（人 / 万台）：用于 6.4 第二项
  special_equipment_death_rate_national: {death}

# 合理缺项（3.5 无口岸）的处理：prorate = 总分按比例折算（默认）；full = 按满分计入
na_policy: prorate

# “居前列”的比例：同级单位中排名前 1/3 为前列，1/3 至 2/3 为中游
rank_fraction: 1/3

# 今年应报送的单位（可选）：列出后，未报送的单位会在结果中列为“未提交”
expected_units:
{expected}

# 未申报单位的参考数据（可选）：仅用于排名比较，使排名按全省而非仅申报单位计算。
# values 中的键是评分表的填报项编号（见评分表“填报项编号”列）。
peer_reference:
  - unit: 示例参考县（示例数据）
    level: 县市区
    values:
      "5.1.g": 420
      "5.1.h": 65
      "5.1.a2": 30
      "5.1.b": 1
      "5.1.c": 1
      "5.1.d": 2
      "5.2.a2": 4
      "8.6.a3": 83.5
      "10.4.b": 84.0

# 邮件发送设置（qc-batch mail 使用，详见 docs/mail.md）。以下为示例数据，请改为本单位的发件服务器；
# 密码不写在本文件中，发送前设置环境变量 QC_SMTP_PASSWORD。
smtp:
  host: smtp.example.gov.cn
  port: 465
  security: ssl
  user: zlqs@example.gov.cn
  sender: 质量强省工作领导小组办公室（示例） <zlqs@example.gov.cn>
  reply_to: zlfz@example.gov.cn
"""


def settings_text(year: int) -> str:
    units = _units() + [(u, load_rubric().county_level, p) for u, p in NOT_SUBMITTED]
    expected = "\n".join(
        f"  - {{unit: {u}, level: {lvl}" + (f", parent: {p}}}" if p else "}") for u, lvl, p in units
    )
    return SETTINGS_TEMPLATE.format(
        year=year, expected=expected,
        export=REFERENCES["export_notification_ratio_national"],
        death=REFERENCES["special_equipment_death_rate_national"],
    )


def foreign_files(folder: Path) -> list[str]:
    """Workbooks and settings in ``folder`` that ``qc-batch sample`` did not write (sorted names)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        name = path.name
        if not path.is_file() or name.startswith(("~$", ".")):
            continue
        try:
            if name.lower().endswith(WORKBOOK_SUFFIXES):
                ours = is_sample(path.read_bytes())
            elif name == "settings.yaml":
                ours = path.read_text(encoding="utf-8", errors="replace").startswith(SETTINGS_MARK)
            else:
                continue
        except OSError:
            ours = False
        if not ours:
            found.append(name)
    return found


def write_samples(folder: Path, *, seed: int = 2026, year: int = 2026,
                  rubric: Rubric | None = None, force: bool = False) -> SampleSet:
    """Write the sample workbooks and ``settings.yaml`` into ``folder``.

    Refuses (:class:`UserError`, exit 4) a folder holding workbooks or a settings file
    that are not samples, unless ``force``: sample data must never mix with real submissions.
    """
    import yaml

    foreign = [] if force else foreign_files(folder)
    if foreign:
        shown = "、".join(foreign[:5]) + (f" 等 {len(foreign)} 个" if len(foreign) > 5 else "")
        raise UserError(f"文件夹 {folder} 中已有不是 qc-batch sample 生成的文件：{shown}；示例数据不能与真实报送"
                        f"放在一起。请换一个空文件夹（如 qc-batch sample -o 示例数据），确需覆盖时加 --force", EXIT_IO)
    rubric = rubric or load_rubric()
    folder.mkdir(parents=True, exist_ok=True)
    text = settings_text(year)
    settings: Settings = parse_settings(yaml.safe_load(text), rubric)
    settings_path = folder / "settings.yaml"
    settings_path.write_text(text, encoding="utf-8")
    written = []

    def write(path: Path, values: dict[str, Any]) -> None:
        data = interpret(rubric, values)
        write_score_sheet(path, rubric, policy=settings.policy,
                          fill=Fill(values, cached_results(rubric, data, settings.policy)))
        path.write_bytes(mark(path.read_bytes()))
        written.append(path)

    for values in sample_units(rubric, year, seed, settings.policy):
        unit = values["QC_UNIT"]
        write(folder / f"示例数据_{unit}_{year}.xlsx", values)
        if unit == TWO_VERSIONS:
            # an earlier submission of the same unit, superseded by the later 填报日期
            older = dict(values)
            older["QC_DATE"] = values["QC_DATE"] - dt.timedelta(days=20)
            older["QC_1_1"] = rubric.input("1.1").options[1].display
            write(folder / f"示例数据_{unit}_{year}_初稿.xlsx", older)
    return SampleSet(written, settings_path)

"""The bureau's annual settings file (YAML), validated with Chinese messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from qc_batch.engine.scoring import Policy
from qc_batch.mail.config import MailSettingsError
from qc_batch.mail.config import check_sections as check_mail_sections
from qc_batch.read.cells import clean_text, in_bounds
from qc_batch.rubric.expr import REFERENCES, REFS
from qc_batch.rubric.model import Rubric, load_rubric

TOP_KEYS = {"year", "references", "na_policy", "rank_fraction", "expected_units", "peer_reference", "history",
            "smtp", "address_book", "mail", "reviews"}


class SettingsError(ValueError):
    """The settings file cannot be used; the message is Chinese and names the key."""


@dataclass(frozen=True)
class ExpectedUnit:
    unit: str
    level: str
    parent: str = ""


@dataclass(frozen=True)
class PeerFigures:
    """Figures of a unit that did not apply, used only as ranking peers."""

    unit: str
    level: str
    values: Mapping[str, Fraction]  # input code -> value


@dataclass(frozen=True)
class Settings:
    year: int
    policy: Policy
    expected_units: tuple[ExpectedUnit, ...] = ()
    peer_reference: tuple[PeerFigures, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # smtp, address_book, mail
    source: str = ""
    history: str | bool | None = None  # the history database (docs/history.md): path, false = off, None = default

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary (results.json, the comparison workbook)."""
        return {
            "year": self.year,
            "references": {k: (None if v is None else str(v)) for k, v in self.policy.refs.items()},
            "na_policy": self.policy.na_policy,
            "rank_fraction": str(self.policy.rank_fraction),
            "expected_units": len(self.expected_units),
            "peer_reference": len(self.peer_reference),
            "source": self.source,
        }


_SETTING_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?(/\d{1,16})?")


def _number(value: Any, where: str) -> Fraction:
    """A number of the settings: bounded in length, exponent and magnitude before it is made exact."""
    if isinstance(value, bool) or value is None:
        raise SettingsError(f"{where} 应为数值，实际为“{value}”")
    text = (repr(value) if isinstance(value, float) else str(value)).strip()
    if len(text) > 40 or _SETTING_NUMBER.fullmatch(text) is None:
        raise SettingsError(f"{where} 应为数值（如 0.0032 或 1/3），实际为“{clean_text(text[:40], lines=False)}”")
    try:
        x = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise SettingsError(f"{where} 应为数值（如 0.0032 或 1/3），实际为“{text}”") from None
    if not in_bounds(x):
        raise SettingsError(f"{where} 超出合理范围（绝对值应为 0 或在 1E-15 与 1E+15 之间），实际为“{text}”")
    return x


def parse_settings(data: Any, rubric: Rubric | None = None, source: str = "") -> Settings:
    """Validate a parsed YAML document."""
    rubric = rubric or load_rubric()
    where = f"设置文件 {source}" if source else "设置文件"
    if not isinstance(data, Mapping):
        raise SettingsError(f"{where} 内容应为“键: 值”形式的设置（写法见 README“年度运行”一节）")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise SettingsError(f"{where} 中有无法识别的设置项：{'、'.join(map(str, unknown))}；"
                            f"可用的设置项为：{'、'.join(sorted(TOP_KEYS))}")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise SettingsError(f"{where}：year（评价年度）应为四位数年份，如 2026，实际为“{year}”")
    refs_in = data.get("references") or {}
    if not isinstance(refs_in, Mapping):
        raise SettingsError(f"{where}：references 应包含 {'、'.join(REFS)} 两项")
    bad = sorted(set(refs_in) - set(REFS))
    if bad:
        raise SettingsError(f"{where}：references 中有无法识别的参考值：{'、'.join(map(str, bad))}")
    refs: dict[str, Fraction | None] = {}
    for ref in REFS:
        v = refs_in.get(ref)
        if v is None:
            refs[ref] = None
            continue
        x = _number(v, f"references.{ref}（{REFERENCES[ref].label}）")
        if x < 0:
            raise SettingsError(f"{where}：references.{ref}（{REFERENCES[ref].label}）不能为负数")
        refs[ref] = x
    na_policy = data.get("na_policy", "prorate")
    if na_policy not in ("prorate", "full"):
        raise SettingsError(f"{where}：na_policy（合理缺项处理方式）应为 prorate（按比例折算）或 full（按满分计），"
                            f"实际为“{na_policy}”")
    frac = _number(data.get("rank_fraction", "1/3"), "rank_fraction（前列比例）")
    if not 0 < frac <= Fraction(1, 2):
        raise SettingsError(f"{where}：rank_fraction（前列比例）应大于 0 且不大于 1/2，实际为“{frac}”")
    expected = []
    for k, item in enumerate(data.get("expected_units") or (), start=1):
        if isinstance(item, str):
            item = {"unit": item}
        if not isinstance(item, Mapping) or not item.get("unit"):
            raise SettingsError(f"{where}：expected_units 第 {k} 项应写明 unit（单位名称）")
        level = str(item.get("level", "")).strip()
        if level not in rubric.levels:
            raise SettingsError(f"{where}：expected_units 第 {k} 项（{item.get('unit')}）的 level 应为"
                                f"{'或'.join(rubric.levels)}")
        expected.append(ExpectedUnit(str(item["unit"]).strip(), level, str(item.get("parent") or "").strip()))
    peers = []
    for k, item in enumerate(data.get("peer_reference") or (), start=1):
        if not isinstance(item, Mapping) or not item.get("unit"):
            raise SettingsError(f"{where}：peer_reference 第 {k} 项应写明 unit（单位名称）")
        level = str(item.get("level", "")).strip()
        if level not in rubric.levels:
            raise SettingsError(f"{where}：peer_reference 第 {k} 项的 level 应为{'或'.join(rubric.levels)}")
        values = {}
        for code, v in (item.get("values") or {}).items():
            code = str(code)
            try:
                inp = rubric.input(code)
            except KeyError:
                raise SettingsError(f"{where}：peer_reference 第 {k} 项中的“{code}”不是评分表的填报项编号") from None
            if inp.kind == "bool":
                values[code] = v if isinstance(v, bool) else str(v).strip() in ("是", "true", "True", "1")
            else:
                values[code] = _number(v, f"peer_reference 第 {k} 项的 {code}")
        peers.append(PeerFigures(str(item["unit"]), level, values))
    extra = {k: data[k] for k in ("smtp", "address_book", "mail") if k in data}
    try:  # a typo in a mail setting stops the run at once, not weeks later at qc-batch mail
        check_mail_sections(extra)
    except MailSettingsError as exc:
        raise SettingsError(str(exc).replace("设置文件", where, 1)) from None
    reviews = data.get("reviews")
    if reviews is not None:
        if not isinstance(reviews, str) or not reviews.strip():
            raise SettingsError(f"{where}：reviews（现场评审表文件夹）应为文件夹路径（如 reviews），实际为“{reviews}”")
        extra["reviews"] = reviews.strip()  # relative to the settings file's folder
    history = data.get("history")
    if not (history is None or history is False or (isinstance(history, str) and history.strip())):
        raise SettingsError(f"{where}：history（历年数据库）应为文件路径（如 ../qc_history.sqlite），"
                            f"或 false 表示不使用历年数据库，实际为“{history}”")
    return Settings(year, Policy(refs, na_policy, frac), tuple(expected), tuple(peers), extra, source,
                    history.strip() if isinstance(history, str) else history)


def load_settings(path: str | Path, rubric: Rubric | None = None) -> Settings:
    """Read and validate a settings file; raises :class:`SettingsError` in Chinese."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"找不到设置文件 {path}；请用 --settings 指定本年度的设置文件（写法见 README“年度运行”）")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SettingsError(f"设置文件 {path} 不是 UTF-8 编码的文本，请用记事本另存为 UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"第 {mark.line + 1} 行" if mark else ""
        raise SettingsError(f"设置文件 {path} {at}格式有误（YAML）：请检查缩进和冒号") from None
    return parse_settings(data, rubric, str(path))

"""Table A.1 loaded from ``data/rubric.yaml`` into frozen, validated objects.

This is the only place that knows the rubric's file format. Everything else
(sheet writer, engine, audit, reports) asks :func:`load_rubric` for the
:class:`Rubric` and reads points, thresholds and texts from it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Any

import yaml

from qc_batch.rubric import expr
from qc_batch.rubric.expr import Node

KINDS = ("bool", "tier", "pct", "int", "num", "rank")
NUMERIC_KINDS = ("pct", "int", "num", "rank")
KIND_LABELS = {
    "bool": "是/否",
    "tier": "选项",
    "pct": "百分比",
    "int": "整数",
    "num": "数值",
    "rank": "名次",
}
YEAR_LABELS = {-2: "前两年", -1: "前一年", 0: "评价年度"}


class RubricError(ValueError):
    """The rubric file is malformed (a defect of the product, not of input)."""


def name_for(code: str, suffix: str = "") -> str:
    """The Excel defined name for an input or indicator code: ``2.4.c1`` -> ``QC_2_4_c1``."""
    return "QC_" + code.replace(".", "_") + (f"_{suffix}" if suffix else "")


def _lookup(kind: str, key: str, extra: str = ""):
    """Unpickle a rubric object as the same object of the loaded rubric."""
    return _objects()[(kind, key, extra)]


@functools.lru_cache(maxsize=1)
def _objects() -> dict[tuple[str, str, str], Any]:
    r = load_rubric()
    out: dict[tuple[str, str, str], Any] = {}
    for ind in r.indicators:
        out[("indicator", ind.code, "")] = ind
        out.update((("part", p.code, ""), p) for p in ind.parts)
        for inp in ind.inputs:
            out[("input", inp.code, "")] = inp
            out.update((("option", inp.code, o.letter), o) for o in inp.options)
    return out


class Memo:
    """A per-object cache for values other stages derive from a rubric object (the names a
    sheet must have, a part's text in words): it lives and dies with the object, never travels
    with it when pickled, and is left out of equality and hashing."""

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per object and ``key``."""
        cache = self.__dict__.get("_memo")
        if cache is None:
            cache = self.__dict__["_memo"] = {}
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = make()
            return value

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_memo"}


class _ByReference(Memo):
    """Pickled as a reference into :func:`load_rubric`, not as a copy: the batch's
    worker processes send back scores that point at indicators and parts."""

    _kind = ""

    def _ref(self):
        return (self._kind, self.code)

    def __reduce__(self):
        return _lookup, self._ref()


@dataclass(frozen=True)
class Option:
    letter: str
    text: str
    points: int
    input_code: str = field(default="", compare=False, repr=False)

    def _ref(self):
        return ("option", self.input_code, self.letter)

    def __reduce__(self):
        if not self.input_code:
            return object.__reduce__(self)
        return _lookup, self._ref()

    @property
    def display(self) -> str:
        """The dropdown text: starts with the letter, as the spec requires."""
        return f"{self.letter} {self.text}（{self.points}分）"


@dataclass(frozen=True)
class Input(_ByReference):
    _kind = "input"
    code: str
    id: str
    indicator: str
    kind: str
    label: str
    unit: str = ""
    positive: bool = False
    upper: Fraction | None = None
    year_offset: int | None = None
    required_if: Node | None = None
    required_if_text: str = ""
    options: tuple[Option, ...] = ()

    @functools.cached_property
    def name(self) -> str:
        return name_for(self.code)

    @property
    def full_label(self) -> str:
        if self.year_offset is None:
            return self.label
        return f"{self.label}（{YEAR_LABELS[self.year_offset]}）"

    @property
    def lower(self) -> Fraction:
        return Fraction(1) if self.kind == "rank" else Fraction(0)

    @property
    def upper_bound(self) -> Fraction | None:
        return Fraction(100) if self.kind == "pct" else self.upper

    def expected_text(self) -> str:
        """What an official should type, in Chinese (used in prompts and findings)."""
        if self.kind == "bool":
            return "“是”或“否”"
        if self.kind == "tier":
            return "下拉列表中的一项（" + "、".join(o.letter for o in self.options) + "）"
        if self.kind == "pct":
            return "0 到 100 之间的百分比（如 97.5 或 97.5%）"
        if self.kind == "int":
            return ("大于 0 " if self.positive else "不小于 0 ") + "的整数" + (f"（单位：{self.unit}）" if self.unit else "")
        if self.kind == "rank":
            return "不小于 1 的整数名次"
        lo = "大于 0" if self.positive else "不小于 0"
        hi = f"、不大于 {_fmt(self.upper)}" if self.upper is not None else ""
        return f"{lo}{hi}的数值" + (f"（单位：{self.unit}）" if self.unit else "")


@dataclass(frozen=True)
class Case:
    when: Node
    points: Node
    when_text: str
    points_text: str


@dataclass(frozen=True)
class Part(_ByReference):
    _kind = "part"
    code: str
    id: str
    points: int
    label: str
    cases: tuple[Case, ...]
    na: Node | None = None
    rank_by: Node | None = None
    rank_by_text: str = ""

    @functools.cached_property
    def is_ranked(self) -> bool:
        return self.rank_by is not None


@dataclass(frozen=True)
class Contradiction:
    code: str
    when: Node
    message: str


@dataclass(frozen=True)
class Indicator(_ByReference):
    _kind = "indicator"
    code: str
    group: int
    title: str
    method: str
    max: int
    inputs: tuple[Input, ...]
    parts: tuple[Part, ...]
    is_tier: bool = False
    expert: bool = False
    note: str = ""
    contradictions: tuple[Contradiction, ...] = ()
    series: tuple[tuple[str, ...], ...] = ()

    @functools.cached_property
    def claim_name(self) -> str:
        return name_for(self.code, "CLAIM")

    @functools.cached_property
    def evidence_name(self) -> str:
        return name_for(self.code, "EVIDENCE")

    @functools.cached_property
    def score_name(self) -> str:
        return name_for(self.code, "SCORE")

    @functools.cached_property
    def is_ranked(self) -> bool:
        return any(p.is_ranked for p in self.parts)

    def input(self, input_id: str) -> Input:
        for i in self.inputs:
            if i.id == input_id:
                return i
        raise KeyError(input_id)

    @property
    def kinds(self) -> dict[str, str]:
        return {i.id: ("bool" if i.kind == "bool" else "num") for i in self.inputs}


@dataclass(frozen=True)
class Group:
    number: int
    name: str
    indicators: tuple[Indicator, ...]

    @property
    def max(self) -> int:
        return sum(i.max for i in self.indicators)


@dataclass(frozen=True)
class Rubric(Memo):
    id: str
    version: str
    title: str
    standard: str
    total: int
    pass_mark: int
    groups: tuple[Group, ...]
    vetoes: tuple[str, ...]
    levels: tuple[str, ...] = ()  # from rubric.yaml: the 市州 level first, then the county level
    _by_code: Mapping[str, Indicator] = field(repr=False, compare=False, default_factory=dict)
    _inputs: Mapping[str, Input] = field(repr=False, compare=False, default_factory=dict)

    @functools.cached_property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for g in self.groups for i in g.indicators)

    @functools.cached_property
    def inputs(self) -> tuple[Input, ...]:
        return tuple(i for ind in self.indicators for i in ind.inputs)

    def indicator(self, code: str) -> Indicator:
        return self._by_code[code]

    def input(self, code: str) -> Input:
        return self._inputs[code]

    def reference_users(self, ref: str) -> tuple[str, ...]:
        """Codes of the parts whose rules compare with reference value ``ref``."""
        return tuple(p.code for ind in self.indicators for p in ind.parts
                     if any(ref in expr.refs(c.when) for c in p.cases))

    def thresholds(self, code: str) -> tuple[Fraction, ...]:
        """The constants input ``code`` is compared with in its indicator's rules, ascending."""
        inp = self.input(code)
        ind = self.indicator(inp.indicator)
        found: set[Fraction] = set()
        for part in ind.parts:
            for case in part.cases:
                for node in (case.when, case.points):
                    found |= expr.thresholds(node).get(inp.id, set())
        return tuple(sorted(found))

    def group(self, number: int) -> Group:
        return self.groups[number - 1]

    @property
    def city_level(self) -> str:
        """The level of the 市州 (the first of ``levels``)."""
        return self.levels[0]

    @property
    def county_level(self) -> str:
        """The level whose units belong to a 市州 and name it (所属市州): the last of ``levels``."""
        return self.levels[-1]

    @functools.cached_property
    def levels_text(self) -> str:
        """The levels as a choice in words: ``“市州”或“县市区”``."""
        return "或".join(f"“{lv}”" for lv in self.levels)

    @functools.cached_property
    def expert_text(self) -> str:
        """The indicators the experts rate on site, in words: a group whose indicators all are
        is named as a group (``5.4 与第 11 类``)."""
        items: list[str] = []
        for g in self.groups:
            rated = [i.code for i in g.indicators if i.expert]
            if rated and len(rated) == len(g.indicators):
                items.append(f"第 {g.number} 类")
            else:
                items += rated
        if len(items) < 2:
            return "".join(items)
        last = items[-1]
        return "、".join(items[:-1]) + (" 与" if last.startswith("第") else " 与 ") + last


_TOP_KEYS = {"rubric", "groups", "vetoes", "indicators", "levels"}
_IND_KEYS = {"code", "title", "max", "method", "tier", "inputs", "parts", "note",
             "contradictions", "series", "expert"}
_INPUT_KEYS = {"kind", "label", "unit", "positive", "max", "year_offset", "required_if"}
_PART_KEYS = {"id", "points", "label", "when", "cases", "na", "rank_by"}


def _check_keys(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(obj) - allowed
    if extra:
        raise RubricError(f"{where}: unknown keys {sorted(extra)}")


def _fmt(v: Fraction | None) -> str:
    if v is None:
        return ""
    return str(v.numerator) if v.denominator == 1 else format(float(v), "g")


def _parse_input(ind_code: str, iid: str, spec: Mapping[str, Any], kinds: dict[str, str]) -> Input:
    _check_keys(spec, _INPUT_KEYS, f"{ind_code}.{iid}")
    kind = spec["kind"]
    if kind not in KINDS or kind == "tier":
        raise RubricError(f"{ind_code}.{iid}: bad kind {kind!r}")
    req_text = str(spec.get("required_if", "") or "")
    return Input(
        code=f"{ind_code}.{iid}",
        id=iid,
        indicator=ind_code,
        kind=kind,
        label=str(spec["label"]),
        unit=str(spec.get("unit", "")),
        positive=bool(spec.get("positive", False)),
        upper=Fraction(str(spec["max"])) if "max" in spec else None,
        year_offset=spec.get("year_offset"),
        required_if=expr.parse(req_text, kinds) if req_text else None,
        required_if_text=req_text,
    )


def _parse_part(ind_code: str, spec: Mapping[str, Any], kinds: dict[str, str]) -> Part:
    where = f"{ind_code} part {spec.get('id')}"
    _check_keys(spec, _PART_KEYS, where)
    points = int(spec["points"])
    if ("when" in spec) == ("cases" in spec):
        raise RubricError(f"{where}: give exactly one of when/cases")
    raw_cases = [[spec["when"], points]] if "when" in spec else spec["cases"]
    cases = []
    for cond, pts in raw_cases:
        when = expr.parse(str(cond), kinds)
        pnode = expr.parse(str(pts), kinds, want=expr.NUM)
        if isinstance(pnode, expr.Num) and not 0 <= pnode.value <= points:
            raise RubricError(f"{where}: case points {pts} outside 0..{points}")
        cases.append(Case(when, pnode, str(cond), str(pts)))
    rank_by = spec.get("rank_by")
    rank_node = expr.parse(str(rank_by), kinds, want=expr.NUM) if rank_by is not None else None
    for c in cases:
        if expr.uses_rank(c.when) and rank_node is None:
            raise RubricError(f"{where}: front/middle used without rank_by")
    na = spec.get("na")
    pid = str(spec["id"])
    label = str(spec.get("label", ""))
    if not label and len(spec.get("when", "").split()) == 1 and "when" in spec:
        label = ""  # a plain yes/no item: the input's own label says it
    return Part(
        code=f"{ind_code}.{pid}",
        id=pid,
        points=points,
        label=label,
        cases=tuple(cases),
        na=expr.parse(str(na), kinds) if na is not None else None,
        rank_by=rank_node,
        rank_by_text=str(rank_by or ""),
    )


def _parse_indicator(spec: Mapping[str, Any]) -> Indicator:
    code = str(spec["code"])
    _check_keys(spec, _IND_KEYS, code)
    if not re.fullmatch(r"\d+\.\d+", code):
        raise RubricError(f"bad indicator code {code!r}")
    group = int(code.split(".")[0])
    maxp = int(spec["max"])
    if "tier" in spec:
        if "inputs" in spec or "parts" in spec:
            raise RubricError(f"{code}: a tier indicator has no inputs/parts")
        options = tuple(Option(str(l), str(t), int(p), code) for l, t, p in spec["tier"])
        if max(o.points for o in options) != maxp:
            raise RubricError(f"{code}: best option is not worth the maximum {maxp}")
        if [o.letter for o in options] != [chr(ord("A") + k) for k in range(len(options))]:
            raise RubricError(f"{code}: options must be lettered A, B, C, ...")
        tier_input = Input(code=code, id="", indicator=code, kind="tier",
                           label="请选择符合本地实际的一项", options=options)
        inputs: tuple[Input, ...] = (tier_input,)
        parts: tuple[Part, ...] = ()
        contradictions: tuple[Contradiction, ...] = ()
        series: tuple[tuple[str, ...], ...] = ()
    else:
        raw_inputs = spec["inputs"]
        kinds = {k: ("bool" if v["kind"] == "bool" else "num") for k, v in raw_inputs.items()}
        inputs = tuple(_parse_input(code, str(k), v, kinds) for k, v in raw_inputs.items())
        parts = tuple(_parse_part(code, p, kinds) for p in spec["parts"])
        if sum(p.points for p in parts) != maxp:
            raise RubricError(f"{code}: parts add up to {sum(p.points for p in parts)}, not {maxp}")
        if len({p.id for p in parts}) != len(parts):
            raise RubricError(f"{code}: duplicate part ids")
        contradictions = tuple(
            Contradiction(str(c), expr.parse(str(w), kinds), str(m))
            for c, w, m in spec.get("contradictions", ())
        )
        series = tuple(tuple(str(x) for x in s) for s in spec.get("series", ()))
        for s in series:
            for x in s:
                if x not in kinds:
                    raise RubricError(f"{code}: series names unknown input {x}")
    return Indicator(
        code=code,
        group=group,
        title=str(spec["title"]),
        method=str(spec["method"]),
        max=maxp,
        inputs=inputs,
        parts=parts,
        is_tier="tier" in spec,
        expert=bool(spec.get("expert", False)),
        note=str(spec.get("note", "")),
        contradictions=contradictions,
        series=series,
    )


def parse_rubric(data: Mapping[str, Any]) -> Rubric:
    """Build and validate a :class:`Rubric` from the parsed YAML mapping."""
    _check_keys(data, _TOP_KEYS, "rubric file")
    meta = data["rubric"]
    indicators = [_parse_indicator(s) for s in data["indicators"]]
    groups = []
    for g in data["groups"]:
        members = tuple(i for i in indicators if i.group == int(g["number"]))
        if not members:
            raise RubricError(f"group {g['number']} has no indicators")
        for k, ind in enumerate(members, start=1):
            if ind.code != f"{g['number']}.{k}":
                raise RubricError(f"indicator {ind.code} out of order")
        groups.append(Group(int(g["number"]), str(g["name"]), members))
    if [g.number for g in groups] != list(range(1, len(groups) + 1)):
        raise RubricError("groups must be numbered 1..n")
    if sum(len(g.indicators) for g in groups) != len(indicators):
        raise RubricError("an indicator belongs to no group")
    total = sum(i.max for i in indicators)
    if total != int(meta["total"]):
        raise RubricError(f"maxima add up to {total}, not {meta['total']}")
    by_code = {i.code: i for i in indicators}
    all_inputs = {inp.code: inp for i in indicators for inp in i.inputs}
    return Rubric(
        id=str(meta["id"]),
        version=str(meta["version"]),
        title=str(meta["title"]),
        standard=str(meta["standard"]),
        total=total,
        pass_mark=int(meta["pass_mark"]),
        groups=tuple(groups),
        vetoes=tuple(str(v) for v in data["vetoes"]),
        levels=tuple(str(v) for v in data["levels"]),
        _by_code=by_code,
        _inputs=all_inputs,
    )


@functools.lru_cache(maxsize=1)
def load_rubric() -> Rubric:
    """The rubric shipped with the package (parsed once per process)."""
    text = resources.files("qc_batch").joinpath("data/rubric.yaml").read_text(encoding="utf-8")
    return parse_rubric(yaml.safe_load(text))

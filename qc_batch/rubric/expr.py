"""The rubric's small expression language.

Conditions and point formulas in ``rubric.yaml`` are written in a whitelisted
subset of Python syntax, parsed once with :mod:`ast` into the frozen nodes
below and never executed as Python. Two back ends read the nodes: the exact
evaluator here (three-valued logic over :class:`fractions.Fraction`) and the
Excel compiler in :mod:`qc_batch.rubric.excel_formula`, so the live sheet and the
engine apply the same rule.

Three-valued logic: a missing input, an unreadable one or a division by zero
makes a value *unknown* (``None``). ``and``/``or``/``not`` follow Kleene's
logic (``False and unknown`` is False, ``True or unknown`` is True); a
condition that is unknown never earns points.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Value = Fraction | bool | None
Band = Literal["front", "middle", "other"]

BOOL = "bool"
NUM = "num"

COMPARE_OPS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
FUNCS = ("max", "min", "ceil")
@dataclass(frozen=True)
class Reference:
    """A national reference value the bureau supplies each year (``ref(name)``)."""

    label: str
    unit: str


#: The reference values an expression may use: the one place their names and labels are written.
REFERENCES = {
    "export_notification_ratio_national": Reference("全国出口商品遭境外通报比率", "通报次数/出口批次"),
    "special_equipment_death_rate_national": Reference("全国万台特种设备事故死亡率", "人/万台"),
}
REFS = tuple(REFERENCES)


class ExprError(ValueError):
    """A rubric expression that is not valid (a defect of the rubric file)."""


@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class RankBand:
    band: Literal["front", "middle"]


@dataclass(frozen=True)
class Given:
    var: Var


@dataclass(frozen=True)
class Arith:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Num | Var | Ref | RankBand | Given | Arith | Func | Compare | And | Or | Not


def parse(text: str, kinds: Mapping[str, str], *, want: str = BOOL) -> Node:
    """Parse ``text`` into a node, checking names and types.

    ``kinds`` maps each input id usable here to ``"bool"`` or ``"num"``;
    ``want`` is the type the whole expression must have.
    """
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse {text!r}: {exc.msg}") from None
    node = _convert(tree.body, kinds, text)
    got = type_of(node, kinds)
    if got != want:
        raise ExprError(f"{text!r} is a {got} expression, expected {want}")
    return node


def _convert(n: ast.AST, kinds: Mapping[str, str], text: str) -> Node:
    def conv(x: ast.AST) -> Node:
        return _convert(x, kinds, text)

    if isinstance(n, ast.Constant) and type(n.value) in (int, float):
        # repr gives the shortest decimal that round-trips: 0.6 -> Fraction(3, 5)
        return Num(Fraction(repr(n.value)))
    if isinstance(n, ast.Name):
        if n.id in ("front", "middle"):
            return RankBand(n.id)  # type: ignore[arg-type]
        if n.id not in kinds:
            raise ExprError(f"unknown input {n.id!r} in {text!r}")
        return Var(n.id)
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
        return Not(conv(n.operand))
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
        return Arith("-", Num(Fraction(0)), conv(n.operand))
    if isinstance(n, ast.BoolOp):
        items = tuple(conv(v) for v in n.values)
        return And(items) if isinstance(n.op, ast.And) else Or(items)
    if isinstance(n, ast.BinOp) and type(n.op) in ARITH_OPS:
        return Arith(ARITH_OPS[type(n.op)], conv(n.left), conv(n.right))
    if isinstance(n, ast.Compare):
        operands = [conv(n.left)] + [conv(c) for c in n.comparators]
        pairs = []
        for i, op in enumerate(n.ops):
            if type(op) not in COMPARE_OPS:
                raise ExprError(f"operator not allowed in {text!r}")
            pairs.append(Compare(COMPARE_OPS[type(op)], operands[i], operands[i + 1]))
        return pairs[0] if len(pairs) == 1 else And(tuple(pairs))
    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and not n.keywords:
        fname = n.func.id
        if fname == "given" and len(n.args) == 1 and isinstance(n.args[0], ast.Name):
            var = conv(n.args[0])
            if not isinstance(var, Var):
                raise ExprError(f"given() takes an input in {text!r}")
            return Given(var)
        if fname == "ref" and len(n.args) == 1 and isinstance(n.args[0], ast.Name):
            if n.args[0].id not in REFS:
                raise ExprError(f"unknown reference value {n.args[0].id!r} in {text!r}")
            return Ref(n.args[0].id)
        if fname in FUNCS and n.args:
            if fname == "ceil" and len(n.args) != 1:
                raise ExprError(f"ceil() takes one argument in {text!r}")
            return Func(fname, tuple(conv(a) for a in n.args))
    raise ExprError(f"construct not allowed in {text!r}: {ast.dump(n)[:60]}")


def type_of(node: Node, kinds: Mapping[str, str]) -> str:
    """The type of ``node`` (``bool`` or ``num``); raises on a type error."""
    if isinstance(node, (Num, Ref)):
        return NUM
    if isinstance(node, Var):
        return kinds[node.name]
    if isinstance(node, (RankBand, Given)):
        return BOOL
    if isinstance(node, (Arith, Func, Compare)):
        args = (node.left, node.right) if not isinstance(node, Func) else node.args
        for a in args:
            if type_of(a, kinds) != NUM:
                raise ExprError(f"numeric operand expected, got {a}")
        return BOOL if isinstance(node, Compare) else NUM
    if isinstance(node, (And, Or)):
        for a in node.items:
            if type_of(a, kinds) != BOOL:
                raise ExprError(f"condition expected, got {a}")
        return BOOL
    if isinstance(node, Not):
        if type_of(node.item, kinds) != BOOL:
            raise ExprError(f"condition expected, got {node.item}")
        return BOOL
    raise ExprError(f"unknown node {node!r}")  # pragma: no cover


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    if isinstance(node, Func):
        return node.args
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    if isinstance(node, Given):
        return (node.var,)
    return ()


def variables(node: Node) -> list[str]:
    """Input ids used by ``node``, in order of first use."""
    seen: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Var):
            seen.setdefault(n.name, None)
        for c in children(n):
            walk(c)

    walk(node)
    return list(seen)


def refs(node: Node) -> list[str]:
    """Reference values (``ref(...)``) used by ``node``."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Ref) and n.name not in out:
            out.append(n.name)
        for c in children(n):
            walk(c)

    walk(node)
    return out


def thresholds(node: Node) -> dict[str, set[Fraction]]:
    """Constants each input is compared with directly (``c1 >= 80`` -> {c1: {80}})."""
    out: dict[str, set[Fraction]] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Compare):
            for a, b in ((n.left, n.right), (n.right, n.left)):
                if isinstance(a, Var) and isinstance(b, Num):
                    out.setdefault(a.name, set()).add(b.value)
        for c in children(n):
            walk(c)

    walk(node)
    return out


def uses_rank(node: Node) -> bool:
    return isinstance(node, RankBand) or any(uses_rank(c) for c in children(node))


@dataclass(frozen=True)
class Env:
    """What an expression is evaluated against."""

    values: Mapping[str, Value]
    refs: Mapping[str, Fraction | None]
    band: Band | None = None  # the unit's band for this part's rank_by, None = unknown


def evaluate(node: Node, env: Env) -> Value:
    """Evaluate exactly: numbers are Fractions, unknown is ``None``."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Var):
        return env.values.get(node.name)
    if isinstance(node, Ref):
        return env.refs.get(node.name)
    if isinstance(node, RankBand):
        return None if env.band is None else env.band == node.band
    if isinstance(node, Given):
        return env.values.get(node.var.name) is not None
    if isinstance(node, Arith):
        a, b = evaluate(node.left, env), evaluate(node.right, env)
        if a is None or b is None:
            return None
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        return None if b == 0 else Fraction(a) / Fraction(b)
    if isinstance(node, Func):
        vals = [evaluate(a, env) for a in node.args]
        if any(v is None for v in vals):
            return None
        if node.name == "ceil":
            return Fraction(math.ceil(vals[0]))
        return (max if node.name == "max" else min)(vals)
    if isinstance(node, Compare):
        a, b = evaluate(node.left, env), evaluate(node.right, env)
        if a is None or b is None:
            return None
        return {
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
            "==": a == b,
            "!=": a != b,
        }[node.op]
    if isinstance(node, And):
        vals = [evaluate(i, env) for i in node.items]
        if any(v is False for v in vals):
            return False
        return None if any(v is None for v in vals) else True
    if isinstance(node, Or):
        vals = [evaluate(i, env) for i in node.items]
        if any(v is True for v in vals):
            return True
        return None if any(v is None for v in vals) else False
    if isinstance(node, Not):
        v = evaluate(node.item, env)
        return None if v is None else not v
    raise ExprError(f"unknown node {node!r}")  # pragma: no cover


_OP_ZH = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
_ARITH_ZH = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def render_value(node: Node, names: Mapping[str, str]) -> str:
    """A Chinese reading of the value expression ``node`` (a figure, not a condition)."""
    return _renderer(names, "", {})(node)


def render(node: Node, names: Mapping[str, str], rank_text: str = "",
           units: Mapping[str, str] | None = None) -> str:
    """A Chinese reading of the condition ``node`` for reports; ``names`` maps input ids to
    what to call them (e.g. the input code ``1.3.a``); ``rank_text`` names the figure a
    ranking band ranks (see :func:`render_value`); ``units`` gives an input's unit ("%"),
    written after a number it is compared with."""
    return _bool_text(node, _renderer(names, rank_text, units or {}))


def _renderer(names: Mapping[str, str], rank_text: str, units: Mapping[str, str]):

    def fmt_num(v: Fraction) -> str:
        if v.denominator == 1:
            return str(v.numerator)
        return format(float(v), "g")

    def r(n: Node, prec: int = 0) -> str:
        if isinstance(n, Num):
            return fmt_num(n.value)
        if isinstance(n, Var):
            return names.get(n.name, n.name)
        if isinstance(n, Ref):
            return REFERENCES[n.name].label
        if isinstance(n, RankBand):
            band = "前列" if n.band == "front" else "中游"
            return f"{rank_text}居同级单位{band}" if rank_text else f"居同级单位{band}"
        if isinstance(n, Given):
            return f"{r(n.var)}已填写"
        if isinstance(n, Arith):
            p = _PREC[n.op]
            s = f"{r(n.left, p)} {_ARITH_ZH[n.op]} {r(n.right, p + 1)}"
            return f"({s})" if p < prec else s
        if isinstance(n, Func):
            if n.name == "ceil":
                return f"向上取整({r(n.args[0])})"
            word = "较大者" if n.name == "max" else "较小者"
            return f"{'、'.join(r(a) for a in n.args)}中的{word}"
        if isinstance(n, Compare):
            if isinstance(n.left, Ref) and n.op == ">=" and isinstance(n.right, Num) and n.right.value == 0:
                return f"省局已提供{REFERENCES[n.left.name].label}"  # the guard that the value is given
            right = r(n.right)
            if isinstance(n.left, Var) and isinstance(n.right, Num) and units.get(n.left.name):
                right += units[n.left.name]
            return f"{r(n.left)} {_OP_ZH[n.op]} {right}"
        if isinstance(n, Var):
            return names.get(n.name, n.name)
        if isinstance(n, And):
            return "且".join(_bool_text(i, r) for i in n.items)
        if isinstance(n, Or):
            s = "或".join(_bool_text(i, r) for i in n.items)
            return f"（{s}）"
        if isinstance(n, Not):
            if isinstance(n.item, Var):
                return f"{r(n.item)}为“否”"
            return f"并非（{r(n.item)}）"
        raise ExprError(f"unknown node {n!r}")  # pragma: no cover

    return r


def _bool_text(n: Node, r) -> str:
    if isinstance(n, Var):
        return f"{r(n)}为“是”"
    return r(n)

"""Ranking items (居…前列 / 中游): a unit's band among its peers.

Peers are the accepted, non-vetoed units of the same level whose figure for
the item is readable, plus any reference figures the bureau supplies. Ranks
are competition ranks, highest value first (ties share the best rank: 1, 2,
2, 4). With n peers and fraction f (1/3 by default): 前列 is rank <= ceil(n*f);
中游 is ceil(n*f) < rank <= ceil(2*n*f). A figure of 0 is never 前列 or 中游.
A vetoed unit is ranked against the peers as if it were one of them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from qc_batch.engine.numbers import sort_float
from qc_batch.rubric.expr import Band


@dataclass(frozen=True)
class Standing:
    """Where one unit stands on one ranking item."""

    value: Fraction | None
    rank: int | None
    peers: int
    band: Band | None
    front_cut: int
    middle_cut: int


def cut_offs(n: int, fraction: Fraction) -> tuple[int, int]:
    """The last rank of 前列 and of 中游 among ``n`` peers."""
    return math.ceil(n * fraction), math.ceil(2 * n * fraction)


def _key(v: Fraction) -> tuple[float, Fraction]:
    return sort_float(v), v


class PeerGroup:
    """The readable figures of one item's peers, sorted once for fast lookups."""

    def __init__(self, values: Iterable[Fraction], fraction: Fraction):
        # ascending negatives = descending values; each led by its float, which orders
        # the same way (rounding is monotonic) but compares far faster than a Fraction
        self._desc_neg = sorted(_key(-v) for v in values)
        self.fraction = fraction
        # n is the peers, or the peers and one outsider: both cut-offs found once, not per unit
        n = len(self._desc_neg)
        self._cuts = {n: cut_offs(n, fraction), n + 1: cut_offs(n + 1, fraction)}

    def __len__(self) -> int:
        return len(self._desc_neg)

    def standing(self, value: Fraction | None, *, is_member: bool) -> Standing:
        """Standing of ``value``; ``is_member`` says whether it is already among the peers."""
        n = len(self) + (0 if is_member else 1)
        front, middle = self._cuts[n]
        if value is None:
            return Standing(None, None, n, None, front, middle)
        rank = 1 + bisect.bisect_left(self._desc_neg, _key(-value))  # peers strictly greater, + 1
        if value <= 0:
            band: Band = "other"
        elif rank <= front:
            band = "front"
        elif rank <= middle:
            band = "middle"
        else:
            band = "other"
        return Standing(value, rank, n, band, front, middle)


@dataclass(frozen=True)
class Entrant:
    """One unit as the ranking sees it."""

    key: Hashable
    level: str
    values: Mapping[str, Fraction | None]  # part code -> figure
    vetoed: bool = False


def rank_all(entrants: Sequence[Entrant], items: Iterable[str], fraction: Fraction,
             reference: Sequence[tuple[str, Mapping[str, Fraction | None]]] = ()
             ) -> dict[Hashable, dict[str, Standing]]:
    """Standings of every entrant on every ranked item.

    ``reference`` holds (level, figures) of units that did not apply; they
    count as peers but get no standing themselves.
    """
    items = list(items)
    out: dict[Hashable, dict[str, Standing]] = {e.key: {} for e in entrants}
    levels = sorted({e.level for e in entrants})
    for level in levels:
        members = [e for e in entrants if e.level == level]
        refs = [vals for lvl, vals in reference if lvl == level]
        for item in items:
            peer_values = [v for e in members if not e.vetoed
                           if (v := e.values.get(item)) is not None]
            peer_values += [v for vals in refs if (v := vals.get(item)) is not None]
            group = PeerGroup(peer_values, fraction)
            for e in members:
                v = e.values.get(item)
                out[e.key][item] = group.standing(v, is_member=not e.vetoed and v is not None)
    return out

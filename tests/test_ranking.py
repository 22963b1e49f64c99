"""Ranking items (居…前列 / 中游): competition ranks among same-level peers.

Spec: peers are the accepted units of the same QC_LEVEL whose value is
readable; ties share the best rank (1, 2, 2, 4); 前列 is rank <= ceil(n/3),
中游 is ceil(n/3) < rank <= ceil(2n/3); a value of 0 is never 前列 or 中游; a
vetoed unit is ranked as if it were one of the peers; reference figures count
as peers.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qc_batch.engine.ranking import Entrant, PeerGroup, cut_offs, rank_all
from qc_batch.engine.scoring import Policy, rank_values, sheet_bands

from .facts import BEST, RANKED, RUBRIC, score

THIRD = Fraction(1, 3)
CITY, COUNTY = "市州", "县市区"
ORDER = {"front": 0, "middle": 1, "other": 2}


def standings(values, *, vetoed=(), level=CITY, reference=(), fraction=THIRD):
    """Standings on one item "x" of units 0..n-1 with ``values``."""
    entrants = [
        Entrant(k, level, {"x": None if v is None else Fraction(v)}, vetoed=k in vetoed)
        for k, v in enumerate(values)
    ]
    ref = [(lvl, {"x": None if v is None else Fraction(v)}) for lvl, v in reference]
    result = rank_all(entrants, ["x"], fraction, ref)
    return [result[k]["x"] for k in range(len(values))]


def bands(values, **kw):
    return [s.band for s in standings(values, **kw)]


def test_competition_ranking_ties_share_best_rank():
    assert [s.rank for s in standings([9, 7, 7, 5])] == [1, 2, 2, 4]
    assert [s.rank for s in standings([5, 7, 9, 7])] == [4, 2, 1, 2]


@pytest.mark.parametrize(
    ("n", "front", "middle"),
    [(1, 1, 1), (2, 1, 2), (3, 1, 2), (4, 2, 3), (5, 2, 4), (6, 2, 4), (7, 3, 5), (14, 5, 10)],
)
def test_cut_offs_are_ceil_n_over_3_and_ceil_2n_over_3(n, front, middle):
    assert cut_offs(n, THIRD) == (front, middle)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3, 2, 1], "FMO"),
        ([4, 3, 2, 1], "FFMO"),
        ([6, 5, 4, 3, 2, 1], "FFMMOO"),
        ([7, 6, 5, 4, 3, 2, 1], "FFFMMOO"),
    ],
    ids=["n3", "n4", "n6", "n7"],
)
def test_bands_for_n_peers_with_fraction_one_third(values, expected):
    letter = {"front": "F", "middle": "M", "other": "O"}
    assert "".join(letter[b] for b in bands(values)) == expected
    assert all(s.peers == len(values) for s in standings(values))


def test_tie_at_front_cut_puts_all_tied_units_in_front():
    # n=4, front cut 2: ranks 1, 2, 2, 4
    assert bands([5, 4, 4, 1]) == ["front", "front", "front", "other"]


def test_all_equal_are_all_front():
    assert bands([5, 5, 5, 5, 5]) == ["front"] * 5


def test_value_0_is_never_front_or_middle():
    assert bands([0]) == ["other"]
    assert bands([0, 0, 0]) == ["other"] * 3
    # n=6: the zeros share rank 2 (inside the front cut of 2) yet are 'other'
    assert bands([5, 0, 0, 0, 0, 0]) == ["front"] + ["other"] * 5


def test_zero_values_are_still_peers():
    assert standings([5, 0, 0])[0].peers == 3


def test_missing_value_has_no_band_and_is_not_a_peer():
    result = standings([9, None, 6, 3])
    assert result[1].band is None and result[1].rank is None
    assert [result[k].peers for k in (0, 2, 3)] == [3, 3, 3]
    assert [result[k].band for k in (0, 2, 3)] == ["front", "middle", "other"]


def test_vetoed_unit_is_not_a_peer_of_the_others():
    # Without the vetoed unit 10: n=2, 9 is 前列 and 6 is 中游 (with it, 9 would be 中游).
    result = standings([10, 9, 6], vetoed={0})
    assert [(s.rank, s.peers, s.band) for s in result[1:]] == [(1, 2, "front"), (2, 2, "middle")]


@pytest.mark.parametrize(("value", "rank", "band"), [(10, 1, "front"), (7, 2, "middle"), (6, 2, "middle"),
                                                    (5, 3, "other"), (0, 3, "other")])
def test_vetoed_unit_is_ranked_as_if_it_were_one_of_the_peers(value, rank, band):
    vetoed = standings([value, 9, 6], vetoed={0})[0]
    assert (vetoed.rank, vetoed.peers, vetoed.band) == (rank, 3, band)


def test_reference_figures_count_as_peers():
    assert bands([5]) == ["front"]
    (alone_with_refs,) = standings([5], reference=[(CITY, 9), (CITY, 7)])
    assert (alone_with_refs.rank, alone_with_refs.peers, alone_with_refs.band) == (3, 3, "other")


def test_reference_figures_of_other_level_or_missing_are_ignored():
    (s,) = standings([5], reference=[(COUNTY, 9), (CITY, None)])
    assert (s.rank, s.peers, s.band) == (1, 1, "front")


def test_reference_figures_get_no_standing():
    entrants = [Entrant("a", CITY, {"x": Fraction(1)})]
    result = rank_all(entrants, ["x"], THIRD, [(CITY, {"x": Fraction(2)})])
    assert list(result) == ["a"]


def test_levels_are_ranked_separately():
    entrants = [
        Entrant("长沙市", CITY, {"x": Fraction(9)}),
        Entrant("株洲市", CITY, {"x": Fraction(8)}),
        Entrant("湘潭市", CITY, {"x": Fraction(1)}),
        Entrant("浏阳市", COUNTY, {"x": Fraction(2)}),
        Entrant("长沙县", COUNTY, {"x": Fraction(1)}),
    ]
    result = rank_all(entrants, ["x"], THIRD)
    assert result["浏阳市"]["x"].rank == 1 and result["浏阳市"]["x"].band == "front"
    assert result["浏阳市"]["x"].peers == 2
    assert result["湘潭市"]["x"].band == "other"


def test_items_are_ranked_independently():
    entrants = [Entrant(k, CITY, {"x": Fraction(v), "y": Fraction(10 - v)}) for k, v in enumerate([1, 2, 3])]
    result = rank_all(entrants, ["x", "y"], THIRD)
    assert [result[k]["x"].band for k in range(3)] == ["other", "middle", "front"]
    assert [result[k]["y"].band for k in range(3)] == ["front", "middle", "other"]


def test_rank_fraction_is_a_setting():
    assert Policy().rank_fraction == THIRD
    assert cut_offs(8, Fraction(1, 4)) == (2, 4)
    assert bands(range(8, 0, -1), fraction=Fraction(1, 4)) == ["front"] * 2 + ["middle"] * 2 + ["other"] * 4


def test_peer_group_standing_of_a_non_member():
    group = PeerGroup([Fraction(3), Fraction(2)], THIRD)
    assert len(group) == 2
    s = group.standing(Fraction(2), is_member=False)
    assert (s.rank, s.peers, s.front_cut, s.middle_cut, s.band) == (2, 3, 1, 2, "middle")


# --- properties ---------------------------------------------------------------

values_lists = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=6)), min_size=1, max_size=25)


@given(values_lists)
def test_bands_are_monotone_in_value(values):
    result = standings(values)
    known = [(v, s.band) for v, s in zip(values, result, strict=True) if v is not None]
    for v, band in known:
        if v == 0:
            assert band == "other"
        for w, other in known:
            if v > w:
                assert ORDER[band] <= ORDER[other]  # a higher value never gets a worse band
            if v == w:
                assert band == other
    assert all(s.band is None for v, s in zip(values, result, strict=True) if v is None)


@given(values_lists)
def test_front_units_at_most_ceil_n_over_3_unless_tied(values):
    result = standings(values)
    known = [v for v in values if v is not None]
    n = len(known)
    front = [v for v, s in zip(values, result, strict=True) if s.band == "front"]
    front_or_middle = [v for v, s in zip(values, result, strict=True) if s.band in ("front", "middle")]
    if not front:
        return
    # only units tied with the lowest 前列 value can push the count past the cut
    tied = known.count(min(front)) - 1
    assert len(front) <= math.ceil(n / 3) + tied
    if len(set(known)) == n:
        assert len(front) == min(math.ceil(n / 3), sum(1 for v in known if v > 0))
        assert len(front_or_middle) <= math.ceil(2 * n / 3)


@given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20, unique=True),
       st.integers(min_value=0, max_value=50))
def test_vetoed_unit_gets_the_band_it_would_have_as_a_peer(peers, vetoed_value):
    as_vetoed = standings([vetoed_value, *peers], vetoed={0})
    as_peer = standings([vetoed_value, *peers])
    assert as_vetoed[0].band == as_peer[0].band
    assert as_vetoed[0].rank == as_peer[0].rank
    assert [s.band for s in as_vetoed[1:]] == bands(peers)


# --- from facts to points ------------------------------------------------------


def test_rank_values_are_the_spec_figures():
    values = rank_values(RUBRIC, BEST)
    assert set(values) == set(RANKED)
    assert values["5.1.a"] == Fraction(800, 5000)  # brand value / GDP
    assert values["5.1.b"] == Fraction(12, 5000)  # 中国名牌 per 亿元 GDP
    assert values["5.1.c"] == Fraction(5, 5000)
    assert values["5.1.d"] == Fraction(8, 400)  # geographical indications per 亿元 farm output
    assert values["5.2.a"] == 6
    assert values["8.6.b"] == 85
    assert values["10.4.b"] == 88


def test_ranked_points_from_a_batch_of_units():
    """Three 市州 differing only in 中国名牌 count: only the top one earns 5.1.b."""
    facts = {name: dict(BEST, **{"5.1.b": Fraction(b)}) for name, b in (("甲", 20), ("乙", 12), ("丙", 0))}
    entrants = [Entrant(name, CITY, rank_values(RUBRIC, f)) for name, f in facts.items()]
    result = rank_all(entrants, RANKED, THIRD)
    points = {}
    for name, f in facts.items():
        unit_bands = {item: s.band for item, s in result[name].items()}
        points[name] = score(f, bands=unit_bands).indicators["5.1"].parts[1].points
    assert points == {"甲": 10, "乙": 0, "丙": 0}


def test_sheet_bands_pessimistic_is_all_other():
    assert sheet_bands(RUBRIC, BEST) == dict.fromkeys(RANKED, "other")
    assert score(BEST, bands=sheet_bands(RUBRIC, BEST)).indicators["5.2"].points == 5


def test_sheet_bands_optimistic_is_front_for_figures_above_0():
    facts = dict(BEST, **{"5.1.c": Fraction(0), "10.4.b": None})
    result = sheet_bands(RUBRIC, facts, optimistic=True)
    assert result["5.1.b"] == "front"
    assert result["5.1.c"] == "other"
    assert result["10.4.b"] is None

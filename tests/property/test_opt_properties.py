"""Properties of the lineup engines (core/opt/_portfolio.py) over random small slates.

Every slate has 8..14 drivers, so itertools can list every roster: the MILP and the enumeration
engine must both reach the brute-force optimum of each objective, and every portfolio must keep
every rule, checked here without core's own checkers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from core.errors import Infeasible, SolverFailed
from core.opt import LineupRules, Portfolio, build_portfolio, compile_rules
from core.slate import DRAFTKINGS, FANDUEL, SiteRules
from tests.opt_helpers import (
    TAIL,
    best,
    cvar,
    feasible_lineups,
    near_a_level_edge,
    ramp_levels,
    ramp_width,
    random_points,
    totals,
)

EXAMPLES = 30


@dataclass(frozen=True)
class Case:
    site: SiteRules
    salaries: tuple[int, ...]
    points: np.ndarray
    cap: int
    floor: int
    locks: frozenset[int]
    excludes: frozenset[int]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f"d{i:02d}" for i in range(len(self.salaries)))

    def rules(self, **extra: object) -> LineupRules:
        return compile_rules(
            self.site,
            self.ids,
            self.salaries,
            salary_cap=self.cap,
            salary_floor=self.floor,
            locks=[self.ids[i] for i in sorted(self.locks)],
            excludes=[self.ids[i] for i in sorted(self.excludes)],
            **extra,  # type: ignore[arg-type]
        )

    def lineups(self) -> list[tuple[int, ...]]:
        return feasible_lineups(
            self.salaries, self.site.roster_size, self.cap, floor=self.floor, locks=self.locks,
            excludes=self.excludes,
        )  # fmt: skip


@st.composite
def cases(draw: st.DrawFn, *, allow_infeasible: bool = False) -> Case:
    """A random slate and rules; unless allow_infeasible, at least one roster meets them."""
    n = draw(st.integers(8, 14))
    site = draw(st.sampled_from([DRAFTKINGS, FANDUEL]))
    salaries = tuple(draw(st.lists(st.integers(40, 120), min_size=n, max_size=n)))
    salaries = tuple(100 * s for s in salaries)
    means = draw(st.lists(st.floats(5.0, 60.0), min_size=n, max_size=n))
    n_scenarios = draw(st.integers(50, 300))
    points = random_points(means, n_scenarios, draw(st.integers(0, 2**32 - 1)))
    pair = st.lists(st.integers(0, n - 1), max_size=2, unique=True)
    locks = frozenset(draw(pair))
    excludes = frozenset(draw(pair)) - locks
    r = site.roster_size
    free = sorted(salaries[i] for i in range(n) if i not in locks | excludes)
    locked = sum(salaries[i] for i in locks)
    cheapest = locked + sum(free[: r - len(locks)])
    dearest = locked + sum(free[len(free) - (r - len(locks)) :])
    if allow_infeasible:
        cap = draw(st.integers(min(cheapest, site.salary_cap) - 2_000, site.salary_cap))
    else:
        tight = cheapest <= site.salary_cap and draw(st.booleans())
        cap = draw(st.integers(cheapest, site.salary_cap)) if tight else site.salary_cap
    floor = 0
    if draw(st.booleans()):
        floor = draw(st.integers(0, max(0, min(cap, dearest) - 1_000 * (not allow_infeasible))))
    case = Case(site, salaries, points, max(cap, 0), floor, locks, excludes)
    if not allow_infeasible and not case.lineups():
        # Cap, floor, locks and excludes can still leave nothing; fall back to the plain site rules.
        case = Case(site, salaries, points, site.salary_cap, 0, frozenset(), frozenset())
    if not allow_infeasible and not case.lineups():
        cheap = tuple(sorted(salaries)[: r - 1]) + salaries[r - 1 :]
        case = Case(
            site, tuple(min(s, 8_000) for s in cheap), points, site.salary_cap, 0, frozenset(), frozenset()
        )
    return case


def solve(case: Case, rules: LineupRules, **options: object) -> Portfolio:
    return build_portfolio(case.points, rules, driver_ids=case.ids, **options)  # type: ignore[arg-type]


def check_rules(
    case: Case, lineups: list[tuple[int, ...]], *, overlap: int, max_counts: np.ndarray | None = None
) -> None:
    """Every rule, checked from the case itself."""
    r = case.site.roster_size
    for lineup in lineups:
        assert len(lineup) == r == len(set(lineup)), lineup
        salary = sum(case.salaries[i] for i in lineup)
        assert case.floor <= salary <= case.cap, (lineup, salary, case.floor, case.cap)
        assert case.locks <= set(lineup), (lineup, case.locks)
        assert not case.excludes & set(lineup), (lineup, case.excludes)
    for a in range(len(lineups)):
        for b in range(a):
            shared = len(set(lineups[a]) & set(lineups[b]))
            assert shared <= overlap, (lineups[b], lineups[a], shared, overlap)
    if max_counts is not None:
        counts = np.bincount([i for lineup in lineups for i in lineup], minlength=len(case.salaries))
        assert np.all(counts <= max_counts), (counts, max_counts)


def exposure_counts(case: Case, n_lineups: int, shares: dict[str, float], *, minimum: bool) -> np.ndarray:
    """Lineups each driver must appear in (minimum) or may appear in (maximum), from its share."""
    counts = np.full(len(case.salaries), 0 if minimum else n_lineups)
    for driver_id, share in shares.items():
        exact = share * n_lineups
        counts[case.ids.index(driver_id)] = np.ceil(exact - 1e-9) if minimum else np.floor(exact + 1e-9)
    return counts


# --- one lineup: both engines reach the brute-force optimum -----------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(allow_infeasible=True))
def test_mean_lineup_is_the_brute_force_optimum(case: Case) -> None:
    lineups = case.lineups()
    try:
        rules = case.rules()
    except Infeasible:
        assert not lineups, f"compile_rules called feasible rules infeasible; {len(lineups)} rosters fit"
        return
    if not lineups:
        event("no roster fits")
        for engine in ("milp", "enumeration"):
            with pytest.raises(Infeasible):
                solve(case, rules, engine=engine)
        return
    value, unique = best(totals(case.points, lineups).mean(axis=1), lineups)
    for engine in ("milp", "enumeration"):
        lineup = solve(case, rules, engine=engine, n_lineups=1).lineups[0]
        check_rules(case, [lineup.drivers], overlap=case.site.roster_size)
        got = float(case.points[:, list(lineup.drivers)].sum(axis=1).mean())
        assert got == pytest.approx(value, abs=1e-6), (engine, lineup.drivers, unique)
        if unique is not None:
            assert lineup.drivers == unique, engine


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases())
def test_floor_lineup_is_the_brute_force_cvar_optimum(case: Case) -> None:
    lineups = case.lineups()
    value, unique = best(cvar(totals(case.points, lineups), TAIL), lineups)
    event(f"scenarios divisible by 1/tail: {case.points.shape[0] % 5 == 0}")
    for engine in ("milp", "enumeration"):
        lineup = solve(case, case.rules(), engine=engine, objective="floor", tail=TAIL).lineups[0]
        check_rules(case, [lineup.drivers], overlap=case.site.roster_size)
        got = float(cvar(totals(case.points, [lineup.drivers]))[0])
        assert got == pytest.approx(value, abs=1e-6), (engine, case.points.shape[0], lineup.drivers, unique)
        if unique is not None:
            assert lineup.drivers == unique, engine


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(), st.floats(0.0, 1.0))
def test_upside_lineup_reaches_the_target_in_the_most_scenarios(case: Case, where: float) -> None:
    lineups = case.lineups()
    lineup_totals = totals(case.points, lineups)
    # A fixed target between the best lineup's mean and its best scenario: a real tail event.
    means = lineup_totals.mean(axis=1)
    top = lineup_totals[int(np.argmax(means))]
    target = float(top.mean() + where * (top.max() - top.mean()))
    # Keep the target clear of every lineup total: a total within float noise of the target counts
    # for the solver (feasibility tolerance 1e-7) but not for an exact comparison.
    while np.any(np.abs(lineup_totals - target) < 1e-5):
        target += 1e-4
    hits = (lineup_totals >= target).sum(axis=1)
    for engine in ("milp", "enumeration"):
        portfolio = solve(case, case.rules(), engine=engine, objective="upside", target=target, smoothing=0.0)
        lineup = portfolio.lineups[0]
        check_rules(case, [lineup.drivers], overlap=case.site.roster_size)
        got = int((case.points[:, list(lineup.drivers)].sum(axis=1) >= target).sum())
        assert got == int(hits.max()), (engine, lineup.drivers, got, int(hits.max()))
        assert portfolio.target == target


RAMP_SCENARIOS = 100  # the ramp's model weighs every scenario near the target: seconds at 300


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(), st.floats(0.0, 1.0), st.floats(0.1, 1.0))
def test_smoothed_upside_lineup_has_the_highest_ramp_sum(case: Case, where: float, smoothing: float) -> None:
    """The ramp (core/opt/_ramp.py): both engines reach the brute force's best sum over scenarios
    of floor(255 x clip((p - target) / h + 1/2, 0, 1)), h = smoothing x the standard deviation of
    the best-mean lineup's points; ties to the higher mean, as with plain hits."""
    case = dataclasses.replace(case, points=case.points[:RAMP_SCENARIOS])
    lineups = case.lineups()
    lineup_totals = totals(case.points, lineups)
    means = lineup_totals.mean(axis=1)
    top = lineup_totals[int(np.argmax(means))]
    target = float(top.mean() + where * (top.max() - top.mean()))
    width = ramp_width(case.points, lineups, smoothing)
    while near_a_level_edge(lineup_totals, target, width):  # as above: clear of the solver's tolerance
        target += 1e-4
    sums = ramp_levels(lineup_totals, target, width).sum(axis=1)
    tied = np.flatnonzero(sums == sums.max())
    want = lineups[int(tied[np.argmax(means[tied])])]
    for engine in ("milp", "enumeration"):
        portfolio = solve(
            case, case.rules(), engine=engine, objective="upside", target=target, smoothing=smoothing
        )
        lineup = portfolio.lineups[0]
        check_rules(case, [lineup.drivers], overlap=case.site.roster_size)
        got = int(ramp_levels(case.points[:, list(lineup.drivers)].sum(axis=1), target, width).sum())
        assert got == int(sums.max()), (engine, lineup.drivers, got, int(sums.max()))
        assert lineup.drivers == want or means[tied].max() - lineup.mean < 1e-6, (
            engine,
            lineup.drivers,
            want,
        )


# --- portfolios -------------------------------------------------------------------------------------


@st.composite
def portfolio_cases(draw: st.DrawFn) -> tuple[Case, int, int | None, dict[str, float]]:
    case = draw(cases())
    n_lineups = draw(st.integers(2, 8))
    max_overlap = draw(st.none() | st.integers(0, case.site.roster_size))
    capped = draw(st.lists(st.integers(0, len(case.salaries) - 1), max_size=3, unique=True))
    max_exposure = {case.ids[i]: draw(st.sampled_from([0.25, 0.5, 0.75, 1.0])) for i in capped}
    return case, n_lineups, max_overlap, max_exposure


@settings(max_examples=EXAMPLES, deadline=None)
@given(portfolio_cases())
def test_portfolios_keep_every_rule_and_engines_agree_on_the_mean_sequence(
    drawn: tuple[Case, int, int | None, dict[str, float]],
) -> None:
    case, n_lineups, max_overlap, max_exposure = drawn
    try:
        rules = case.rules(max_overlap=max_overlap, max_exposure=max_exposure)
    except Infeasible as error:  # a capped lock: its exposure must be 1
        assert "exposure" in str(error) and any(case.ids[i] in max_exposure for i in case.locks)
        return
    overlap = (
        case.site.roster_size - 1 if max_overlap is None else min(max_overlap, case.site.roster_size - 1)
    )
    max_counts = exposure_counts(case, n_lineups, max_exposure, minimum=False)
    values = {}
    for engine in ("enumeration", "milp"):
        for objective in ("mean", "upside", "floor"):
            try:
                portfolio = solve(case, rules, engine=engine, objective=objective, n_lineups=n_lineups)
            except Infeasible:
                values[engine, objective] = None
                continue
            lineups = [lineup.drivers for lineup in portfolio.lineups]
            assert len(lineups) == n_lineups
            check_rules(case, lineups, overlap=overlap, max_counts=max_counts)
            values[engine, objective] = totals(case.points, lineups).mean(axis=1)
    event(f"mean portfolio found: {values['milp', 'mean'] is not None}")
    if values["milp", "mean"] is None or values["enumeration", "mean"] is None:
        assert values["milp", "mean"] is None and values["enumeration", "mean"] is None
    else:
        np.testing.assert_allclose(values["enumeration", "mean"], values["milp", "mean"], atol=1e-6)


@st.composite
def min_exposure_cases(draw: st.DrawFn) -> tuple[Case, int, dict[int, float]]:
    case = draw(cases())
    n_lineups = draw(st.integers(2, 8))
    free = [i for i in range(len(case.salaries)) if i not in case.locks | case.excludes]
    chosen = draw(st.lists(st.sampled_from(free), min_size=1, max_size=2, unique=True))
    return case, n_lineups, {i: draw(st.sampled_from([0.2, 0.5, 0.8, 1.0])) for i in chosen}


def min_exposure_feasible(case: Case, n_lineups: int, minimum: dict[int, int]) -> bool:
    """Whether n distinct rosters can hold every driver in `minimum` often enough (one or two drivers)."""
    kinds: dict[tuple[bool, ...], int] = {}
    for lineup in case.lineups():
        key = tuple(i in lineup for i in minimum)
        kinds[key] = kinds.get(key, 0) + 1
    need = list(minimum.values())
    options = [(key, count) for key, count in kinds.items()]

    def search(k: int, left: int, have: list[int]) -> bool:
        if k == len(options):
            return left == 0 and all(h >= n for h, n in zip(have, need, strict=True))
        key, count = options[k]
        for take in range(min(count, left) + 1):
            if search(k + 1, left - take, [h + take * flag for h, flag in zip(have, key, strict=True)]):
                return True
        return False

    return search(0, n_lineups, [0] * len(need))


@settings(max_examples=EXAMPLES, deadline=None)
@given(min_exposure_cases())
def test_min_exposures_are_met(drawn: tuple[Case, int, dict[int, float]]) -> None:
    case, n_lineups, shares = drawn
    minimum = {i: int(np.ceil(share * n_lineups - 1e-9)) for i, share in shares.items()}
    feasible = min_exposure_feasible(case, n_lineups, minimum)
    rules = case.rules(min_exposure={case.ids[i]: share for i, share in shares.items()})
    event(f"feasible: {feasible}")
    if not feasible:
        for engine in ("enumeration", "milp"):
            with pytest.raises(Infeasible) as caught:
                solve(case, rules, engine=engine, n_lineups=n_lineups)
            if len(case.lineups()) >= n_lineups:  # else no portfolio at all, minimums aside
                assert any(case.ids[i] in str(caught.value) for i in shares), (engine, caught.value)
        return
    portfolio = solve(case, rules, engine="auto", n_lineups=n_lineups)
    assert portfolio.engine == "enumeration"
    lineups = [lineup.drivers for lineup in portfolio.lineups]
    check_rules(case, lineups, overlap=case.site.roster_size - 1)
    for i, count in minimum.items():
        assert sum(i in lineup for lineup in lineups) >= count, (i, count, lineups)


@st.composite
def exposure_cases(draw: st.DrawFn) -> tuple[Case, int, int | None, dict[str, float], dict[str, float]]:
    """Portfolio cases with one to three minimum exposures besides the overlap and maximum limits.

    The overlap limit stays loose (at least roster size - 2): under a tight one, packing the lineups
    is a hard design problem on which the joint model the MILP engine falls back to can spend its
    whole time limit (5 DraftKings lineups from 13 drivers sharing at most 2: over 60 s).
    """
    case, n_lineups, _, max_exposure = draw(portfolio_cases())
    r = case.site.roster_size
    max_overlap = draw(st.none() | st.integers(r - 2, r))
    free = [i for i in range(len(case.salaries)) if i not in case.locks | case.excludes]
    chosen = draw(st.lists(st.sampled_from(free), min_size=1, max_size=3, unique=True))
    min_exposure = {case.ids[i]: draw(st.sampled_from([0.2, 0.34, 0.5, 0.8])) for i in chosen}
    return case, n_lineups, max_overlap, min_exposure, max_exposure


def lineup_scores(case: Case, lineups: list[tuple[int, ...]], objective: str) -> np.ndarray:
    """Each lineup's score: mean points, or the mean of its worst TAIL share of scenarios (floor)."""
    lineup_totals = totals(case.points, lineups)
    return lineup_totals.mean(axis=1) if objective == "mean" else cvar(lineup_totals, TAIL)


@settings(max_examples=EXAMPLES, deadline=None)
@given(exposure_cases(), st.sampled_from(["mean", "floor"]))
def test_min_exposure_portfolios_are_the_models_or_better(
    drawn: tuple[Case, int, int | None, dict[str, float], dict[str, float]], objective: str
) -> None:
    """Unpriced (price_rounds=0), the enumeration engine gives the model's portfolio, score for
    score; by default its portfolio's objective (the sum of the lineups' scores) is never lower,
    and it fails only where the model does. Every rule holds in every portfolio.

    Where the sequence finds no next lineup both engines turn to the joint model, which can need
    minutes to settle a tight packing (8 FanDuel lineups from 8 drivers, sharing at most 3): a short
    time limit makes that a failure (SolverFailed) like any other.
    """
    case, n_lineups, max_overlap, min_exposure, max_exposure = drawn
    try:
        rules = case.rules(max_overlap=max_overlap, min_exposure=min_exposure, max_exposure=max_exposure)
    except Infeasible:  # a capped lock
        return
    min_counts = exposure_counts(case, n_lineups, min_exposure, minimum=True)
    max_counts = exposure_counts(case, n_lineups, max_exposure, minimum=False)
    runs = {"model": {"engine": "milp"}, "unpriced": {"engine": "enumeration", "price_rounds": 0}}
    scores: dict[str, np.ndarray | None] = {}
    for name, options in (runs | {"fast": {"engine": "auto"}}).items():
        try:
            portfolio = solve(
                case, rules, objective=objective, n_lineups=n_lineups, tail=TAIL, time_limit=5.0, **options
            )
        except (Infeasible, SolverFailed):
            scores[name] = None
            continue
        lineups = [lineup.drivers for lineup in portfolio.lineups]
        check_rules(case, lineups, overlap=rules.overlap_limit, max_counts=max_counts)
        counts = np.bincount([i for lineup in lineups for i in lineup], minlength=len(case.salaries))
        assert np.all(counts >= min_counts), (name, counts, min_counts)
        scores[name] = lineup_scores(case, lineups, objective)
    event(f"model found a portfolio: {scores['model'] is not None}")
    if scores["model"] is None:
        assert scores["unpriced"] is None
        return
    assert scores["unpriced"] is not None and scores["fast"] is not None
    np.testing.assert_allclose(scores["unpriced"], scores["model"], atol=1e-6)
    gain = float(scores["fast"].sum() - scores["model"].sum())
    event(f"priced portfolio better: {gain > 1e-6}")
    assert gain >= -1e-6, (scores["fast"], scores["model"])


# --- infeasible requests and determinism ------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(), st.data())
def test_locks_over_the_cap_raise_infeasible(case: Case, data: st.DataObject) -> None:
    n_locks = data.draw(st.integers(1, case.site.roster_size))
    locks = data.draw(
        st.lists(st.integers(0, len(case.salaries) - 1), min_size=n_locks, max_size=n_locks, unique=True)
    )
    cap = sum(case.salaries[i] for i in locks) - data.draw(st.integers(1, 5_000))
    with pytest.raises(Infeasible, match="salary cap"):
        rules = compile_rules(
            case.site, case.ids, case.salaries, salary_cap=max(cap, 0), locks=[case.ids[i] for i in locks]
        )
        solve(case, rules)  # never reached: compile_rules must refuse


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(allow_infeasible=True), st.integers(1, 6), st.sampled_from(["mean", "upside", "floor"]))
def test_rules_no_roster_meets_raise_infeasible(case: Case, n_lineups: int, objective: str) -> None:
    if case.lineups():
        event("feasible")
        return
    with pytest.raises(Infeasible):
        solve(case, case.rules(), engine="milp", objective=objective, n_lineups=n_lineups)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    portfolio_cases(), st.sampled_from(["mean", "upside", "floor"]), st.sampled_from(["milp", "enumeration"])
)
def test_the_same_inputs_give_the_same_portfolio(
    drawn: tuple[Case, int, int | None, dict[str, float]], objective: str, engine: str
) -> None:
    case, n_lineups, max_overlap, _ = drawn
    rules = case.rules(max_overlap=max_overlap)
    try:
        first = solve(case, rules, engine=engine, objective=objective, n_lineups=n_lineups)
    except Infeasible:
        event("infeasible")
        with pytest.raises(Infeasible):
            solve(case, rules, engine=engine, objective=objective, n_lineups=n_lineups)
        return
    again = solve(
        case, case.rules(max_overlap=max_overlap), engine=engine, objective=objective, n_lineups=n_lineups
    )
    assert again == first

"""The public API's request and response shapes (msgspec Structs; these names are the contract).

Bounds live in the types (`Annotated[..., Meta(...)]`); rules that span fields live in
`__post_init__` and raise `msgspec.ValidationError` with a message that starts with the field's
path, so a 400 always names the field and the rule. Rules that need the server's settings (the
scenario limit) are checked when a run is submitted (service.jobs). A request body is decoded
strictly (`decode_request`): a string is never a number or a boolean.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from core.contest import MAX_ENTRIES
from core.sim import MAX_SEED
from core.slate import MAX_FIELD, MAX_LAPS, MIN_FIELD, MIN_LAPS, SiteName, known_tracks
from core.spec import MAX_LINEUPS, MAX_SCENARIOS, LineupObjective, RunConfig

RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]

_TEXT = r"\S"  # at least one visible character
# Unicode category Cc: NUL, TAB, LF, CR, DEL and the C1 set. Refused in every text a request
# carries into a file or a log (ids and names), so no name can end a CSV line or a log record.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
DriverId = Annotated[str, Meta(min_length=1, max_length=64, pattern=_TEXT, description="unique in the slate")]
Share = Annotated[float, Meta(ge=0.0, le=1.0)]
Laps = Annotated[int, Meta(ge=0, le=MAX_LAPS)]
Points = Annotated[float, Meta(ge=-1e6, le=1e6)]


def _invalid(field: str, rule: str) -> msgspec.ValidationError:
    return msgspec.ValidationError(f"{field}: {rule}")


def _refuse_control(field: str, text: str | None) -> None:
    found = None if text is None else _CONTROL.search(text)
    if found is not None:
        raise _invalid(field, f"must not contain control characters (found U+{ord(found.group()):04X})")


class ScenarioConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How many race scenarios to draw, and of which race."""

    track_id: Annotated[
        str, Meta(min_length=1, max_length=64, description="a known track slug, e.g. bristol")
    ]
    n_scenarios: Annotated[
        int,
        Meta(
            ge=10,
            le=MAX_SCENARIOS,
            multiple_of=10,
            description="scenarios to draw; at most the server's AXIOM_MAX_SCENARIOS (default 1,000,000)",
        ),
    ] = 1000
    race_length: (
        Annotated[int, Meta(ge=MIN_LAPS, le=MAX_LAPS, description="laps; default the track's")] | None
    ) = None
    field_size: (
        Annotated[
            int, Meta(ge=MIN_FIELD, le=MAX_FIELD, description="default the number of drivers; must equal it")
        ]
        | None
    ) = None
    calibration_enabled: bool = True

    def __post_init__(self) -> None:
        if self.track_id not in known_tracks():
            raise _invalid(
                "scenario_config.track_id",
                f"unknown track {self.track_id!r}; known: {', '.join(sorted(known_tracks()))}",
            )

    def laps(self) -> int:
        """The race length: the one given, or the track's scheduled laps."""
        return known_tracks()[self.track_id].laps if self.race_length is None else self.race_length


class DriverConstraintsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One driver of the slate: salary, start, model inputs, and what the run asks of them."""

    driver_id: DriverId
    name: (
        Annotated[str, Meta(min_length=1, max_length=100, pattern=_TEXT, description="default the driver_id")]
        | None
    ) = None
    salary: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=100_000,
                description="give every driver a salary or none: without salaries, lineups are chosen "
                "without a salary constraint",
            ),
        ]
        | None
    ) = None
    start_position: (
        Annotated[
            int, Meta(ge=1, le=MAX_FIELD, description="every driver's or none: default the order given")
        ]
        | None
    ) = None
    site_player_id: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=64,
                pattern=_TEXT,
                description="the site's player ID (DKSalaries.csv `ID`, FanDuel `Id`) for lineups.csv",
            ),
        ]
        | None
    ) = None
    skill: Share
    aggression: Share
    shadow_risk: Share
    team: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=100,
                pattern=_TEXT,
                description="the car's team this week (calibrated runs; default the driver's latest team "
                "in the fitted history)",
            ),
        ]
        | None
    ) = None
    min_laps_led: Laps = 0
    max_laps_led: Annotated[Laps | None, Meta(description="default the race length")] = None
    locked: bool = False
    excluded: bool = False
    min_exposure: Annotated[Share | None, Meta(description="least share of the lineups holding them")] = None
    max_exposure: Annotated[Share | None, Meta(description="most share of the lineups holding them")] = None


PayoutPreset = Literal["gpp", "single-entry gpp", "double-up", "50-50", "head-to-head"]


class PayoutPlaces(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Places place_from..place_to (1-based, inclusive) each pay `prize`."""

    place_from: Annotated[int, Meta(ge=1, le=MAX_ENTRIES)]
    place_to: Annotated[int, Meta(ge=1, le=MAX_ENTRIES)]
    prize: Annotated[float, Meta(ge=0.0, le=1e9)]


class ContestRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A contest to play the lineups in (needed by objective "roi"; with another objective the
    lineups are only scored in it)."""

    field_size: Annotated[int, Meta(ge=2, le=MAX_ENTRIES, description="entries, ours included")]
    entry_fee: Annotated[float, Meta(ge=0.0, le=1e6)]
    payouts: Annotated[
        PayoutPreset | Annotated[list[PayoutPlaces], Meta(min_length=1, max_length=10_000)],
        Meta(description="a preset or the table; its prizes may not add up to more than the fees"),
    ] = "gpp"
    ownership: Annotated[
        dict[DriverId, Annotated[float, Meta(ge=0.0, le=100.0)]] | None,
        Meta(description="percent of the field's lineups per driver; drivers left out share the rest "
             "by Axiom's projection; null: all projected from the scenarios"),
    ] = None  # fmt: skip

    def __post_init__(self) -> None:
        if isinstance(self.payouts, list):
            last = 0
            for k, places in enumerate(self.payouts):
                if not last < places.place_from <= places.place_to <= self.field_size:
                    raise _invalid(
                        f"contest.payouts[{k}]", f"places must follow {last} and stay within field_size"
                    )
                last = places.place_to
            total = sum((p.place_to - p.place_from + 1) * p.prize for p in self.payouts)
            if total > self.entry_fee * self.field_size * (1 + 1e-9):
                raise _invalid(
                    "contest.payouts",
                    f"prizes add up to {total:,.2f}, more than the {self.entry_fee * self.field_size:,.2f} "
                    "of entry fees collected",
                )
        elif self.payouts == "head-to-head" and self.field_size != 2:
            raise _invalid("contest.field_size", "a head-to-head has 2 entries")


class OptimizeRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A slate and what to build from it. Every run is reproducible from this and its seed."""

    slate_id: Annotated[str, Meta(min_length=1, max_length=100, pattern=_TEXT)]
    drivers: Annotated[list[DriverConstraintsRequest], Meta(min_length=MIN_FIELD, max_length=MAX_FIELD)]
    scenario_config: ScenarioConfig
    site: SiteName = "draftkings"
    salary_cap: Annotated[int, Meta(ge=10_000, le=100_000, description="default the site's cap")] | None = (
        None
    )
    objective: LineupObjective = "mean"
    n_lineups: Annotated[int, Meta(ge=1, le=MAX_LINEUPS)] = 1
    max_overlap: Annotated[int, Meta(ge=0, le=6, description="most drivers two lineups share")] | None = None
    target_score: Annotated[
        Points | None, Meta(description="score to beat; default the p99 of the mean-optimal lineup")
    ] = None
    random_seed: (
        Annotated[int, Meta(ge=0, le=MAX_SEED, description="absent: the server picks one and reports it")]
        | None
    ) = None
    contest: ContestRequest | None = None

    def __post_init__(self) -> None:
        _refuse_control("slate_id", self.slate_id)
        laps = self.scenario_config.laps()
        seen: set[str] = set()
        for i, d in enumerate(self.drivers):
            where = f"drivers[{i}]"
            for name in ("driver_id", "name", "site_player_id"):
                _refuse_control(f"{where}.{name}", getattr(d, name))
            if d.driver_id in seen:
                raise _invalid(f"{where}.driver_id", f"duplicate driver_id {d.driver_id!r}")
            seen.add(d.driver_id)
            upper = laps if d.max_laps_led is None else d.max_laps_led
            if d.min_laps_led > laps:
                raise _invalid(f"{where}.min_laps_led", f"must be at most the race length {laps}")
            if upper > laps:
                raise _invalid(f"{where}.max_laps_led", f"must be at most the race length {laps}")
            if d.min_laps_led > upper:
                raise _invalid(f"{where}.max_laps_led", f"must be at least min_laps_led={d.min_laps_led}")
            for name in ("salary", "start_position"):
                if (getattr(d, name) is None) != (getattr(self.drivers[0], name) is None):
                    missing = where if getattr(d, name) is None else "drivers[0]"
                    raise _invalid(f"{missing}.{name}", "give every driver one, or none")
            if d.locked and d.excluded:
                raise _invalid(f"{where}.locked", "a driver cannot be both locked and excluded")
            low = 0.0 if d.min_exposure is None else d.min_exposure
            high = 1.0 if d.max_exposure is None else d.max_exposure
            if low > high:
                raise _invalid(f"{where}.max_exposure", f"must be at least min_exposure={low}")
        starts = sorted(d.start_position or i for i, d in enumerate(self.drivers, start=1))
        if starts != list(range(1, len(self.drivers) + 1)):
            raise _invalid(
                "drivers.start_position",
                f"must be a permutation of 1..{len(self.drivers)} (each exactly once)",
            )
        size = self.scenario_config.field_size
        if size is not None and size != len(self.drivers):
            raise _invalid(
                "scenario_config.field_size", f"must equal the number of drivers ({len(self.drivers)})"
            )
        if self.target_score is not None and not math.isfinite(self.target_score):
            raise _invalid("target_score", "must be a finite number")
        if self.objective == "roi" and self.contest is None:
            raise _invalid("contest", "the roi objective needs a contest (field_size, entry_fee)")
        if self.contest is not None and self.contest.field_size <= self.n_lineups:
            raise _invalid("contest.field_size", f"must exceed n_lineups={self.n_lineups}")
        unknown = sorted(set(self.contest.ownership or {}) - seen) if self.contest is not None else []
        if unknown:
            raise _invalid("contest.ownership", f"unknown driver_ids {unknown[:5]}")


class DriverSelection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A driver in a lineup. `position` is the driver's slot in the lineup (1-based, in the order
    of the site's upload file); projected_points is their mean points over the scenarios."""

    driver_id: str
    name: str
    salary: int
    projected_points: float
    position: int
    site_player_id: Annotated[
        str | None, Meta(description="the site's player ID, the one the upload file carries (null: unknown)")
    ] = None


class ContestMetrics(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Money in the contest, expected over the scenarios (dollars; shares in [0, 1])."""

    expected_profit: float
    roi: Annotated[float, Meta(description="expected profit / fees paid")]
    win: Annotated[float, Meta(description="expected share of first place (a tie counts 1/tied)")]
    top_1: Annotated[float, Meta(description="P(in the best 1%); a portfolio: at least one lineup")]
    cash: Annotated[float, Meta(description="P(a prize); a portfolio: at least one lineup")]
    duplicates: Annotated[float, Meta(description="expected identical lineups in the field")]
    profit_p5: float
    profit_p50: float
    profit_p95: float
    standard_error: Annotated[float, Meta(description="of expected_profit, over the scenarios")]


class ContestSummary(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The contest a run was played in, and the whole portfolio's money in it."""

    field_size: int
    entry_fee: float
    n_paid: int
    first_prize: float
    ownership: Annotated[dict[str, float], Meta(description="the field's percent per driver_id")]
    ownership_source: Literal["projected", "supplied"]
    portfolio: ContestMetrics


class Lineup(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A lineup and the distribution of its points over the scenarios (and its money, with a
    contest)."""

    drivers: list[DriverSelection]
    total_projected_points: float
    total_salary: int
    std: float
    p10: float
    p50: float
    p90: float
    p99: float
    p_beat_target: Annotated[float, Meta(description="share of scenarios scoring at least the target")]
    contest: ContestMetrics | None = None


class ScenarioDiagnostics(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    n_scenarios_generated: int
    n_valid: int
    rejection_rate: float
    rejections_by_reason: dict[str, int]
    avg_laps_led: Annotated[float, Meta(description="laps led by each scenario's lap leader, averaged")]
    avg_position_differential: Annotated[float, Meta(description="mean |start - finish| over drivers")]
    regime_shares: dict[str, float]
    calibration_metrics: Annotated[
        dict[str, float] | None,
        Meta(
            description="the archetype's scores in the sequential backtest recorded with the fitted "
            "parameter version used (crps_finish, crps_dk_points, crps_laps_led, winner_log_loss, rps, "
            "coverage_50/80/95, dnf_forecast and dnf_observed (shares of cars), n_races); null when "
            "calibration_enabled is false"
        ),
    ] = None


class OptimizeResponse(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A completed run: the best lineup's drivers with its totals (the shape the API's first clients
    read), every lineup with the distribution of its points, and what produced them."""

    run_id: str
    status: RunStatus
    lineup: Annotated[list[DriverSelection], Meta(description="the best lineup's drivers, in slot order")]
    total_projected_points: Annotated[float, Meta(description="of the best lineup")]
    total_salary: Annotated[int, Meta(description="of the best lineup")]
    lineups: Annotated[list[Lineup], Meta(description="every lineup, the best first, with its statistics")]
    salary_constrained: Annotated[
        bool, Meta(description="false when the slate had no salaries: lineups were chosen without a cap")
    ]
    upload_ids: Annotated[
        Literal["site", "axiom"],
        Meta(description="lineups.csv carries the site's player IDs, or Axiom's driver_ids where unknown"),
    ]
    notes: Annotated[list[str], Meta(description="what a user should know about this result")]
    site: SiteName
    objective: LineupObjective
    target_score: Annotated[float, Meta(description="the score p_beat_target counts against")]
    scenario_diagnostics: ScenarioDiagnostics
    constraint_spec_hash: str
    run_config: RunConfig
    contest: ContestSummary | None = None


class OptimizationStatus(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    run_id: str
    status: RunStatus
    progress: Annotated[float, Meta(ge=0.0, le=1.0)]
    error: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


class RunError(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The answer for a run that failed or was cancelled."""

    run_id: str
    status: RunStatus
    detail: str


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rejected request: which field broke which rule (field is null when no single field did)."""

    field: str | None = None
    detail: str


class QueueCounts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pending: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


class Health(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: Literal["ok", "degraded"]
    device: Literal["cpu", "gpu"]
    workers: int
    queue: QueueCounts
    auth: Annotated[
        Literal["api_keys", "open"],
        Meta(description="api_keys: every runs request needs a key; open: AXIOM_API_KEYS is not set"),
    ] = "open"
    backend: Annotated[
        Literal["embedded", "networked"],
        Meta(
            description="embedded: an SQLite file and this machine's workers; networked: a PostgreSQL "
            "server shared by API processes and `axiom worker` processes on any host (workers and "
            "queue count them all). While the database cannot be reached, /health answers 503."
        ),
    ] = "embedded"


def _json_number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


# JSON has one number type, and JSON Schema's "integer" takes 5000.0: a number without a fraction
# becomes an int here, so the strict conversion still takes it where an integer is due.
_UNTYPED_DECODER = msgspec.json.Decoder(float_hook=_json_number)


def decode_request(body: bytes) -> OptimizeRequest:
    """The OptimizeRequest of a JSON body, decoded strictly: a string is never a number, a boolean
    or null, and a number never a boolean ("salary": "5000" and "locked": 1 are refused, where
    Litestar's own decoding would convert them); "salary": 5000.0 is 5000.

    Raises:
        msgspec.DecodeError: the body is not JSON, or is nested too deeply to decode.
        msgspec.ValidationError: a field breaks a rule; the message names the field's path.
    """
    try:
        tree = _UNTYPED_DECODER.decode(body)
    except RecursionError:  # msgspec's depth guard; a traceback per request would flood the log
        raise msgspec.DecodeError("nested too deeply") from None
    return msgspec.convert(tree, OptimizeRequest, strict=True)


REQUEST_DECODER = msgspec.json.Decoder(OptimizeRequest)  # strict: for requests the service stored itself
RESPONSE_DECODER = msgspec.json.Decoder(OptimizeResponse)
ENCODER = msgspec.json.Encoder()

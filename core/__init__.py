"""Axiom's core: a pure library (no HTTP, threads, environment variables or global state).

Typical use::

    from core import ConstraintSpec, load_slate, run_simulation, sample_slate_path
    slate = load_slate(sample_slate_path(), "bristol")
    spec = ConstraintSpec.compile(slate.drivers, slate.track, n_scenarios=2_000)
    result = run_simulation(spec, seed=7)
    result.scenarios.points  # scenarios x drivers, drivers in spec order
"""

from .contest import ContestResult as ContestResult
from .contest import Ownership as Ownership
from .contest import PayoutTable as PayoutTable
from .contest import build_roi_portfolio as build_roi_portfolio
from .contest import payout_table as payout_table
from .contest import project_ownership as project_ownership
from .contest import simulate_contest as simulate_contest
from .contest import simulate_field as simulate_field
from .errors import AxiomError as AxiomError
from .errors import AxiomViolation as AxiomViolation
from .errors import Cancelled as Cancelled
from .errors import Infeasible as Infeasible
from .errors import InvalidInput as InvalidInput
from .errors import SolverFailed as SolverFailed
from .run import ContestSettings as ContestSettings
from .run import OptimizationResult as OptimizationResult
from .run import SimulationResult as SimulationResult
from .run import run_contest as run_contest
from .run import run_optimization as run_optimization
from .run import run_simulation as run_simulation
from .scoring import draftkings_points as draftkings_points
from .scoring import fanduel_points as fanduel_points
from .sim import ScenarioSet as ScenarioSet
from .sim import race_statistics as race_statistics
from .sitefiles import load_slate as load_slate
from .slate import DRAFTKINGS as DRAFTKINGS
from .slate import FANDUEL as FANDUEL
from .slate import Driver as Driver
from .slate import Slate as Slate
from .slate import Track as Track
from .slate import get_track as get_track
from .slate import sample_slate_path as sample_slate_path
from .spec import ConstraintSpec as ConstraintSpec
from .spec import LapsLed as LapsLed
from .spec import LineupSettings as LineupSettings
from .spec import RunConfig as RunConfig

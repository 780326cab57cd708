"""The JAX scenario kernel: whole races as scenarios, with conservation laws checked in the kernel."""

from ._kernel import AXIOMS as AXIOMS
from ._kernel import Race as Race
from ._kernel import simulate_chunk as simulate_chunk
from ._kernel import simulate_race as simulate_race
from ._kernel import sub_batch_for as sub_batch_for
from ._params import DEFAULT_PARAMS as DEFAULT_PARAMS
from ._params import PARAMS_VERSION as PARAMS_VERSION
from ._params import REGIMES as REGIMES
from ._params import ArchetypeParams as ArchetypeParams
from ._params import DriverInputs as DriverInputs
from ._params import default_params as default_params
from ._params import driver_inputs as driver_inputs
from ._scenarios import DEFAULT_CHUNK_SIZE as DEFAULT_CHUNK_SIZE
from ._scenarios import DEFAULT_MIN_ACCEPTANCE as DEFAULT_MIN_ACCEPTANCE
from ._scenarios import Diagnostics as Diagnostics
from ._scenarios import LapsLedConditions as LapsLedConditions
from ._scenarios import ScenarioSet as ScenarioSet
from ._scenarios import generate_scenarios as generate_scenarios
from ._stats import DriverSummary as DriverSummary
from ._stats import RaceStatistics as RaceStatistics
from ._stats import driver_summaries as driver_summaries
from ._stats import race_statistics as race_statistics

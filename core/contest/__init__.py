"""Contests: the field's ownership, simulated fields of opponents, payout tables, the money our
lineups win against them on the same scenarios, and portfolios built for it (DESIGN.md section 7)."""

from ._field import DEFAULT_CONCENTRATION as DEFAULT_CONCENTRATION
from ._field import Field as Field
from ._field import simulate_field as simulate_field
from ._ownership import DEFAULT_TEMPERATURE as DEFAULT_TEMPERATURE
from ._ownership import FLOOR_SHARE as FLOOR_SHARE
from ._ownership import Ownership as Ownership
from ._ownership import project_ownership as project_ownership
from ._ownership import read_ownership as read_ownership
from ._ownership import supplied_ownership as supplied_ownership
from ._payouts import MAX_ENTRIES as MAX_ENTRIES
from ._payouts import PRESETS as PRESETS
from ._payouts import PayoutRow as PayoutRow
from ._payouts import PayoutTable as PayoutTable
from ._payouts import payout_table as payout_table
from ._payouts import read_payouts as read_payouts
from ._roi import DEFAULT_CANDIDATES as DEFAULT_CANDIDATES
from ._roi import Contest as Contest
from ._roi import RoiPortfolio as RoiPortfolio
from ._roi import build_roi_portfolio as build_roi_portfolio
from ._simulate import ContestMetrics as ContestMetrics
from ._simulate import ContestResult as ContestResult
from ._simulate import simulate_contest as simulate_contest

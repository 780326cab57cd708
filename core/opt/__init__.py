"""Lineups and portfolios against scenarios: a CVXPY/HiGHS model and an exact enumeration path."""

from ..progress import Progress as Progress
from ..progress import ShouldCancel as ShouldCancel
from ._enumerate import LineupSet as LineupSet
from ._enumerate import enumerate_lineups as enumerate_lineups
from ._milp import LineupProblem as LineupProblem
from ._milp import Objective as Objective
from ._milp import build_lineup_problem as build_lineup_problem
from ._portfolio import DEFAULT_SMOOTHING as DEFAULT_SMOOTHING
from ._portfolio import DEFAULT_TAIL as DEFAULT_TAIL
from ._portfolio import PRICE_ROUNDS as PRICE_ROUNDS
from ._portfolio import TARGET_QUANTILE as TARGET_QUANTILE
from ._portfolio import LineupStats as LineupStats
from ._portfolio import Portfolio as Portfolio
from ._portfolio import build_portfolio as build_portfolio
from ._portfolio import default_target as default_target
from ._portfolio import lineup_stats as lineup_stats
from ._rules import LineupRules as LineupRules
from ._rules import check_feasible as check_feasible
from ._rules import check_lineup as check_lineup
from ._rules import check_portfolio as check_portfolio
from ._rules import compile_rules as compile_rules

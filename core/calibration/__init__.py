"""Calibration of the scenario kernel: ratings fitted from history, probabilistic scores of sampled
outcomes against real results, and the sequential backtest that ties them together."""

from .backtest import BacktestReport as BacktestReport
from .backtest import backtest as backtest
from .metrics import LOG_FLOOR as LOG_FLOOR
from .metrics import central_interval as central_interval
from .metrics import crps_samples as crps_samples
from .metrics import interval_coverage as interval_coverage
from .metrics import log_score as log_score
from .metrics import outcome_probabilities as outcome_probabilities
from .metrics import pit as pit
from .metrics import pit_histogram as pit_histogram
from .metrics import ranked_probability_score as ranked_probability_score
from .metrics import reliability_curve as reliability_curve
from .ratings import RatingSettings as RatingSettings
from .ratings import RatingTable as RatingTable
from .ratings import fit_ratings as fit_ratings

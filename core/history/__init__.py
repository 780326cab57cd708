"""Real NASCAR Cup history as one canonical table: races in race order, one entry per driver.

Two sources, both described in ../shared/data/PROVENANCE.md:

* the season results table (R package nascaR.data): every Cup points race since 1972 in the
  official order, with start, finish, laps completed, laps led and status, but no dates and no
  fastest laps. It is the primary source: every `HistoricalRace` of a points race comes from it.
* the loop-data race logs (2019 on): the only source of fastest laps. Rows carry a date (sometimes
  one day late) and a track name but no race number, and they include exhibitions (Clash, Duels,
  All-Star) that are not points races.

`load_history` groups the logs' Cup rows into events by (date, track) and matches each event to
at most one results race of the same season by driver overlap: the share of (driver, start
position) pairs the two have in common, with track-name similarity as a tie-breaker. Fastest laps
are copied onto the results entries by driver key (never by finish, which differs where a result
was changed after the race, as at Pocono 2022), and the race takes the event's date. Events that
match no race are exhibitions; they are built from the log rows only when asked for.

Driver names go through `core.names.driver_key`, the one join key for both sources.

A newer season's file may hold what older ones did not: a track under a new name (resolved through
data/track_aliases.csv), a new track, empty `Length` and `Surface`, a finish that is not a number.
A race whose archetype cannot be told, or with a row that does not parse, is left out with a
`SkippedRace` warning (a `DataWarning`) that names it, its line and why; the other races load.

Typical use::

    from core.history import load_history, races_before, shared_logs_path, shared_results_path
    history = load_history(shared_results_path(), shared_logs_path(), first_season=2022)
    for race in history:
        past = races_before(history, race)  # fit on these, score on `race`
"""

from ._archetypes import ATLANTA_RECONFIGURED as ATLANTA_RECONFIGURED
from ._archetypes import race_archetype as race_archetype
from ._files import shared_logs_path as shared_logs_path
from ._files import shared_results_path as shared_results_path
from ._grid import lineup_correlation as lineup_correlation
from ._grid import rulebook_lineup as rulebook_lineup
from ._load import load_history as load_history
from ._order import races_before as races_before
from ._races import HistoricalRace as HistoricalRace
from ._races import RaceArrays as RaceArrays
from ._races import RaceEntry as RaceEntry
from ._warnings import DataWarning as DataWarning
from ._warnings import SkippedRace as SkippedRace

"""Slate files in, upload files out: Axiom's drivers CSV, the sites' player lists (DraftKings'
`DKSalaries.csv`, plain or the lineup-builder export; FanDuel's player export) with names matched
across spellings, starting grids, the sites' entries files (`DKEntries.csv`, FanDuel's entries
template) and the sites' NASCAR lineup-upload files."""

from ._entries import ENTRY_COLUMNS as ENTRY_COLUMNS
from ._entries import EntriesFile as EntriesFile
from ._entries import SiteEntry as SiteEntry
from ._entries import entries_site as entries_site
from ._entries import read_entries as read_entries
from ._entries import write_entries as write_entries
from ._grid import GridSlot as GridSlot
from ._grid import find_drivers as find_drivers
from ._grid import read_start_positions as read_start_positions
from ._grid import with_start_positions as with_start_positions
from ._players import SITE_NAMES as SITE_NAMES
from ._players import PathLike as PathLike
from ._players import SitePlayer as SitePlayer
from ._players import match_players as match_players
from ._players import player_list_site as player_list_site
from ._players import read_draftkings_salaries as read_draftkings_salaries
from ._players import read_fanduel_players as read_fanduel_players
from ._players import read_site_players as read_site_players
from ._players import unknown_names as unknown_names
from ._slates import NEUTRAL_INPUT as NEUTRAL_INPUT
from ._slates import SLATE_COLUMNS as SLATE_COLUMNS
from ._slates import drivers_from_players as drivers_from_players
from ._slates import is_site_player_list as is_site_player_list
from ._slates import load_slate as load_slate
from ._slates import read_drivers_csv as read_drivers_csv
from ._slates import read_site_drivers as read_site_drivers
from ._teams import read_teams as read_teams
from ._teams import with_teams as with_teams
from ._uploads import UPLOAD_SLOT as UPLOAD_SLOT
from ._uploads import read_draftkings_upload as read_draftkings_upload
from ._uploads import read_fanduel_upload as read_fanduel_upload
from ._uploads import write_draftkings_upload as write_draftkings_upload
from ._uploads import write_fanduel_upload as write_fanduel_upload
from ._uploads import write_upload as write_upload

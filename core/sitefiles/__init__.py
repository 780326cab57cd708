"""Slate files in, upload files out: Axiom's drivers CSV, the sites' player lists (DraftKings'
`DKSalaries.csv`, plain or the lineup-builder export; FanDuel's player export) with names matched
across spellings, and the sites' NASCAR lineup-upload files."""

from ._players import PathLike as PathLike
from ._players import SitePlayer as SitePlayer
from ._players import match_players as match_players
from ._players import read_draftkings_salaries as read_draftkings_salaries
from ._players import read_fanduel_players as read_fanduel_players
from ._slates import NEUTRAL_INPUT as NEUTRAL_INPUT
from ._slates import SLATE_COLUMNS as SLATE_COLUMNS
from ._slates import drivers_from_players as drivers_from_players
from ._slates import is_site_player_list as is_site_player_list
from ._slates import load_slate as load_slate
from ._slates import read_drivers_csv as read_drivers_csv
from ._slates import read_site_drivers as read_site_drivers
from ._uploads import UPLOAD_SLOT as UPLOAD_SLOT
from ._uploads import read_draftkings_upload as read_draftkings_upload
from ._uploads import read_fanduel_upload as read_fanduel_upload
from ._uploads import write_draftkings_upload as write_draftkings_upload
from ._uploads import write_fanduel_upload as write_fanduel_upload
from ._uploads import write_upload as write_upload

"""The shipped data/ files are exactly what scripts/derive_data.py derives from ../shared/data."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from core.sitefiles import read_drivers_csv
from core.slate import known_tracks, sample_slate_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.shared
def test_shipped_files_match_their_derivation(shared_data: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "derive_data.py"), "--check", "--shared", str(shared_data)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_shipped_files_load_without_shared_data() -> None:
    tracks = known_tracks()
    assert tracks["bristol"].archetype == "short" and tracks["bristol"].laps == 500
    assert tracks["talladega"].archetype == "superspeedway"
    drivers = read_drivers_csv(sample_slate_path())
    assert len(drivers) == 37
    assert sorted(d.start_position for d in drivers) == list(range(1, 38))


def test_track_aliases_name_known_tracks() -> None:
    tracks = known_tracks()
    with (ROOT / "data" / "track_aliases.csv").open(newline="", encoding="utf-8") as handle:
        aliases = {row["alias"]: row["track_id"] for row in csv.DictReader(handle)}
    assert aliases["EchoPark Speedway"] == "atlanta"  # Atlanta Motor Speedway's name from 2025
    assert set(aliases.values()) <= set(tracks)
    assert not set(aliases) & {t.name for t in tracks.values()}  # an alias is not a track's own name

"""`axiom optimize --objective roi` and `axiom contest` on the shipped Bristol slate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main

REPO = Path(__file__).resolve().parents[2]
SLATE = REPO / "data" / "samples" / "draftkings-bristol-2026.csv"
COMMON = ["--slate", str(SLATE), "--track", "bristol", "--n-scenarios", "500", "--no-calibration"]


@pytest.fixture(autouse=True)
def test_compilation_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXIOM_CACHE_DIR", str(REPO / ".pytest_cache"))


def test_roi_lineups_then_their_contest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lineups, report, plot = tmp_path / "lineups.csv", tmp_path / "contest.json", tmp_path / "contest.png"
    contest = ["--field-size", "1000", "--entry-fee", "5"]
    optimize = ["optimize", *COMMON, "--seed", "3", "--objective", "roi", "--n-lineups", "3", *contest]
    assert main([*optimize, "--out", str(lineups)]) == 0
    assert "ROI %" in capsys.readouterr().out
    played = [
        "contest",
        *COMMON,
        "--seed",
        "4",
        "--lineups",
        str(lineups),
        *contest,
        "--payouts",
        "double-up",
    ]
    assert main([*played, "--json", str(report), "--plot", str(plot)]) == 0
    result = json.loads(report.read_text())
    assert len(result["lineups"]) == 3 and plot.stat().st_size > 10_000
    assert result["payouts"] == [{"place_from": 1, "place_to": 450, "prize": 10.0}]
    assert sum(result["ownership"].values()) == pytest.approx(600.0, abs=0.05)
    for lineup in result["lineups"]:
        assert 0.0 <= lineup["cash"] <= 1.0 and lineup["roi"] >= -1.0
    portfolio = result["portfolio"]
    assert portfolio["expected_profit"] == pytest.approx(sum(x["expected_profit"] for x in result["lineups"]))


def test_roi_without_a_contest_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", *COMMON, "--seed", "3", "--objective", "roi"]) == 2
    assert "contest" in capsys.readouterr().err


def test_a_payout_table_over_the_fees_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "payouts.csv"
    table.write_text("place_from,place_to,prize\n1,10,100\n")
    lineups = tmp_path / "lineups.csv"
    lineups.write_text(
        "D,D,D,D,D,D\nkyle-larson,denny-hamlin,ryan-blaney,chad-finchum,todd-gilliland,bubba-wallace\n"
    )
    args = ["contest", *COMMON, "--seed", "1", "--lineups", str(lineups), "--field-size", "100",
            "--entry-fee", "5", "--payouts", str(table)]  # fmt: skip
    assert main(args) == 2
    assert "payouts" in capsys.readouterr().err


def test_a_sites_entries_file_is_played_as_its_filled_entries(tmp_path: Path) -> None:
    """DKEntries.csv as both the player list and the lineups: the reserved (empty) entries are
    skipped, the filled one is matched by its players' site IDs."""
    entries = REPO / "tests" / "data" / "DKEntries-nascar.csv"
    report = tmp_path / "contest.json"
    played = ["contest", "--slate", str(entries), "--track", "bristol", "--n-scenarios", "300"]
    played += ["--no-calibration", "--seed", "4", "--lineups", str(entries)]
    assert main([*played, "--field-size", "500", "--entry-fee", "3", "--json", str(report)]) == 0
    lineups = json.loads(report.read_text())["lineups"]
    larson, hamlin, logano, allmendinger, suarez, stenhouse = (
        f"426173{k:02d}" for k in (1, 2, 8, 21, 24, 31)
    )
    assert [sorted(x["drivers"]) for x in lineups] == [
        [larson, hamlin, logano, allmendinger, suarez, stenhouse]
    ]

"""The README's Python example runs as written, so it cannot go stale."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_two_python_examples() -> None:
    assert len(_python_blocks()) == 2  # the race and lineups; a contest


def test_readme_example_runs(capsys) -> None:
    exec(compile(_python_blocks()[0], str(README), "exec"), {})
    printed = capsys.readouterr().out
    assert "DK points when leading 50+ laps" in printed


def test_readme_contest_example_runs(capsys) -> None:
    exec(compile(_python_blocks()[1], str(README), "exec"), {})
    printed = capsys.readouterr().out
    assert "roi (in sample)" in printed and printed.count("ROI ") == 3


def test_quick_start_has_exactly_two_commands() -> None:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci

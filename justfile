# Axiom's documented entry points. `pip install -e '.[dev]'` brings `just` itself (rust-just).

venv := ".venv"
python := venv / "bin/python"

# Create the virtual environment and install Axiom with its development tools.
setup:
    test -x {{python}} || python3 -m venv {{venv}}
    {{python}} -m pip install -q -e '.[dev]'

# Simulate the shipped DraftKings Bristol 2026 slate end to end and build tournament lineups.
demo:
    {{venv}}/bin/axiom demo

# The whole test suite (what CI runs).
test:
    {{python}} -m pytest -q

# Format check, lint, the import layering (pyproject.toml) and type check.
lint: typecheck
    {{venv}}/bin/ruff format --check .
    {{venv}}/bin/ruff check .
    {{venv}}/bin/lint-imports

# mypy, strict on core.
typecheck:
    {{venv}}/bin/mypy

# Benchmarks: scenario throughput, optimizer speed, API latency, contests (JSON in benchmarks/results/).
bench:
    {{python}} benchmarks/scenarios.py
    {{python}} benchmarks/optimizer.py
    {{python}} benchmarks/api.py
    {{python}} benchmarks/contest.py

# Sequential out-of-sample backtest on real results (needs ../shared/data), with figure and JSON.
backtest seasons="2022-2024" n="1000" seed="0":
    {{venv}}/bin/axiom backtest --seasons {{seasons}} --n-scenarios {{n}} --seed {{seed}} \
        --json docs/backtest-{{seasons}}.json --plot docs/backtest-{{seasons}}.png

# The REST API under uvicorn.
serve host="127.0.0.1" port="8000":
    {{venv}}/bin/axiom serve --host {{host}} --port {{port}}

# Simulate any slate: just simulate data/samples/draftkings-bristol-2026.csv bristol 10000 7
simulate slate track n="10000" seed="7":
    {{venv}}/bin/axiom simulate --slate {{slate}} --track {{track}} --n-scenarios {{n}} --seed {{seed}}

# Re-derive data/ from ../shared/data and check the shipped files are current.
data-check:
    {{python}} scripts/derive_data.py --check

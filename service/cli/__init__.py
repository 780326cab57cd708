"""The `axiom` command: demo, simulate, optimize, backtest, serve."""

from __future__ import annotations

from collections.abc import Sequence

from core import AxiomError

from ..settings import Settings, enable_compilation_cache
from .parser import build_parser
from .render import errors


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 2 with the message on stderr for bad input, files or settings."""
    args = build_parser().parse_args(argv)
    try:
        enable_compilation_cache(Settings.from_env().jax_cache_dir)
        return int(args.handler(args))
    except AxiomError as error:
        errors.print(f"[bold red]error:[/] {error}")
        return 2
    except FileNotFoundError as error:
        errors.print(f"[bold red]error:[/] file not found: {error.filename}")
        return 2


__all__ = ["main"]

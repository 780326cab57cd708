"""`axiom serve` and `axiom worker`: the REST service, and a worker for the networked backend."""

from __future__ import annotations

import argparse
import os

from core import InvalidInput

from ..jobs import StoreUnavailable, check_reachable, run_worker
from ..settings import Settings
from .render import console


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..app import create_app

    if args.workers is not None:
        os.environ["AXIOM_WORKERS"] = str(args.workers)  # the app reads its settings from AXIOM_*
    settings = Settings.from_env()
    if settings.networked:
        _require_database(settings)
        console.print(f"networked backend; {settings.workers} worker process(es) of this server's own")
    # The app resolves client addresses itself (AXIOM_TRUSTED_PROXIES): uvicorn's own rewriting of
    # the address from X-Forwarded-For, on by default for loopback peers, would let any client
    # choose the address its limits are counted against.
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return 0


def worker(args: argparse.Namespace) -> int:
    """One worker process computing runs from the shared queue, `--concurrency` at a time."""
    if args.device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = args.device
    # JAX would take 75% of a GPU's memory at its first computation: workers sharing a GPU take
    # what they use (or the fraction asked for). Set before JAX starts its backend.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if args.memory_fraction is not None:
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "true"
        os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = str(args.memory_fraction)
    settings = Settings.from_env()
    if not settings.networked:
        raise InvalidInput(
            "AXIOM_DATABASE",
            "axiom worker needs the networked backend: set AXIOM_DATABASE to a postgresql:// URL "
            "(the embedded backend's workers are started by axiom serve)",
        )
    _require_database(settings)
    console.print(f"axiom worker: {args.concurrency} run(s) at a time; Ctrl-C requeues what is computing")
    run_worker(settings, args.concurrency, args.threads)
    return 0


def _require_database(settings: Settings) -> None:
    """Refuse to start, with the reason, when AXIOM_DATABASE is malformed or unreachable."""
    try:
        check_reachable(settings.database_url)
    except StoreUnavailable as error:
        raise InvalidInput("AXIOM_DATABASE", str(error)) from None

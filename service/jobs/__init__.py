"""The job machinery: the `JobRegistry` protocol the routes use; the embedded backend (an SQLite
store, the registry that owns it, and the worker processes that compute runs) and the networked
one (PostgreSQL, SAQ's queue, `axiom worker` processes on any host)."""

from .backends import registry_for as registry_for
from .postgres import check_reachable as check_reachable
from .queue_worker import run_worker as run_worker
from .registry import RETRY_AFTER as RETRY_AFTER
from .registry import EmbeddedJobRegistry as EmbeddedJobRegistry
from .registry import JobRegistry as JobRegistry
from .store import QueueFull as QueueFull
from .store import RunStore as RunStore
from .store import StoredResult as StoredResult
from .store import StoreUnavailable as StoreUnavailable

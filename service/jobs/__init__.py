"""The job machinery: the `JobRegistry` protocol the routes use, and the embedded backend (an
SQLite store, the registry that owns it, and the worker processes that compute runs)."""

from .registry import RETRY_AFTER as RETRY_AFTER
from .registry import EmbeddedJobRegistry as EmbeddedJobRegistry
from .registry import JobRegistry as JobRegistry
from .store import QueueFull as QueueFull
from .store import RunStore as RunStore
from .store import StoredResult as StoredResult
from .store import StoreUnavailable as StoreUnavailable

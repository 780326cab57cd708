"""The job backend a deployment asked for: AXIOM_DATABASE a file path (or unset) is the embedded
one, a postgresql:// URL the networked one."""

from __future__ import annotations

from ..settings import Settings
from .networked import NetworkedJobRegistry
from .registry import EmbeddedJobRegistry, JobRegistry


def registry_for(settings: Settings) -> JobRegistry:
    if settings.networked:
        return NetworkedJobRegistry(settings)
    return EmbeddedJobRegistry(settings)

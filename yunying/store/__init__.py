"""The event store: one accessor for every read, one writer for every write."""

from yunying.store.connection import Project, Store, StoreBusyError, connect

__all__ = ["Project", "Store", "StoreBusyError", "connect"]

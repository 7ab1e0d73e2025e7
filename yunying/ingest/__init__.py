"""Getting events in: canonical events, file import, and the single writer."""

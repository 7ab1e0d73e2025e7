"""Peak resident memory of the current process, resettable per measured call (Linux).

Writing ``5`` to ``/proc/self/clear_refs`` resets the kernel's high-water mark (``VmHWM``) to
the current RSS, so the peak of one query can be read afterwards. Where that is not possible
the lifetime peak (``ru_maxrss``) is reported instead.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Reset the high-water mark to the current RSS; False when this system cannot."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    """Peak RSS since the last :func:`reset_peak` (or since the process started)."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def rss_bytes() -> int:
    kib = _status_kib("VmRSS")
    return kib * 1024 if kib is not None else peak_rss_bytes()

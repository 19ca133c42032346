"""Keep large temporaries off the page-fault path: glibc's malloc thresholds, raised at import.

An eager training step allocates and frees the same large arrays every step (activations,
their gradients). By default glibc serves big allocations with fresh mmaps and hands freed
memory at the top of the heap back to the OS, so every step faults those pages in again:
about 1,100 minor faults per step of the 784-256-128-10 MLP at batch 1024, a sixth of its time.
Raising M_MMAP_THRESHOLD and M_TRIM_THRESHOLD keeps that memory in the process for reuse (at
most TRIM_THRESHOLD bytes of free heap stay resident).

Only on glibc. Set CHAINRULE_MALLOC=0 to leave malloc alone; glibc's own MALLOC_MMAP_THRESHOLD_
and MALLOC_TRIM_THRESHOLD_ environment variables, when set, win.
"""

import os
import sys

MMAP_THRESHOLD = 32 * 2**20  # glibc's ceiling for the dynamic threshold on 64-bit
TRIM_THRESHOLD = 64 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters from <malloc.h>


def tune_malloc():
    """Raise glibc's mmap and trim thresholds; returns True if they were set."""
    if os.environ.get("CHAINRULE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
        return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
            bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (AttributeError, OSError, ValueError):
        return False

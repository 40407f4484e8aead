"""A pause of the cyclic garbage collector while a file is read and mapped.

Reading builds hundreds of thousands of small lists and dicts with no reference cycles; left on,
the collector rescans them again and again and takes half the time. Reference counting still
frees everything as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

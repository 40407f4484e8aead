"""A pause of the cyclic garbage collector while a file is read and mapped.

Reading and mapping build hundreds of thousands of small dicts and lists with no reference cycles;
left on, the collector rescans them again and again. Reference counting still frees them as usual.
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
            _resume()


def _resume() -> None:
    """Switch the collector back on without a scan of everything allocated during the pause.

    Re-enabled plainly, the collector's next young-generation pass walks every object built while
    it was off (about a tenth of the time of a large file). Freezing and unfreezing moves them to
    the oldest generation instead, where the next full collection sees them as usual. Skipped when
    someone else has frozen objects, so their freeze is left alone.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    gc.enable()

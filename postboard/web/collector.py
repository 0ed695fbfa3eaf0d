"""The backend's cyclic garbage collector, kept out of the live fan-out.

A backend with thousands of tabs holds millions of long-lived objects (tab states,
sockets, their queues), and a full collection walks every one of them: 0.8-0.9 s at 5,000
tabs, freeing a few dozen objects, every few seconds while posts go out (each fan-out's
short-lived objects count towards the next full pass). That pause was the p99 of the
fan-out. So every `FREEZE_SECONDS` the collector clears the young generations and moves
what survived into the permanent one (`gc.freeze`): collections then walk only objects
newer than that. Frozen objects are still freed by reference counting; only garbage
cycles among them wait for the thaw every `THAW_SECONDS`, one full collection at a moment
no fan-out is under way, after which everything is frozen again.

The price is memory until the thaw: an object alive at a freeze that later becomes cyclic
garbage is kept till then. With Reflex's Redis state manager that is every event's state
tree (loaded from Redis, dropped after the event: ~3 per hydrated tab, ~50 KiB a tab at
1,000 tabs); with the disk manager it is not measurable. Freezing only objects that outlived
a pass over the young pool kept that memory but put its passes (40-120 ms) back into the
fan-out (p99 1.8-2.3x the floor), so it was not kept.
"""

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

FREEZE_SECONDS = 1.0
THAW_SECONDS = 300.0


def always_quiet() -> asyncio.Event:
    """A quiet signal for a process with no fan-out to wait for."""
    event = asyncio.Event()
    event.set()
    return event


class Collector:
    """Freezes what survived, regularly; thaws and collects everything now and then."""

    def __init__(
        self,
        *,
        quiet: asyncio.Event | None = None,
        freeze_every: float = FREEZE_SECONDS,
        thaw_every: float = THAW_SECONDS,
    ) -> None:
        # Set while no fan-out is being emitted (the full pass waits for it).
        self.quiet = quiet or always_quiet()
        self.freeze_every = freeze_every
        self.thaw_every = thaw_every

    def freeze(self) -> None:
        """Collect the young generations, then freeze what is left."""
        # Not gc.get_freeze_count() here: it walks every frozen object (80 ms at 5,000 tabs).
        gc.collect(1)
        gc.freeze()

    def thaw(self) -> int:
        """Unfreeze everything, collect it all, freeze again; return how many objects the pass freed."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        self.freeze()
        frozen = gc.get_freeze_count()
        log.info(
            "full garbage collection: %s objects freed, %s kept, %.0f ms",
            freed,
            frozen,
            (time.perf_counter() - started) * 1000,
        )
        return freed

    async def run(self) -> None:
        """Freeze every `freeze_every` s and thaw every `thaw_every` s, for the life of the process."""
        thawed = time.monotonic()
        while True:
            await asyncio.sleep(self.freeze_every)
            try:
                if time.monotonic() - thawed < self.thaw_every:
                    self.freeze()
                    continue
                await self.quiet.wait()
                self.thaw()
                thawed = time.monotonic()
            except Exception:
                log.exception("garbage collector housekeeping failed")

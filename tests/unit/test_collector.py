"""The backend's garbage collector: frozen objects are out of every pass until the thaw, which waits for quiet."""

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from postboard.web.collector import Collector


class Node:
    """An object that can point at itself."""

    me: object = None


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Leave the interpreter's collector as the test found it."""
    yield
    gc.unfreeze()


def test_a_frozen_garbage_cycle_is_freed_by_the_thaw_not_before() -> None:
    collector = Collector()
    cycle = Node()
    cycle.me = cycle
    freed: list[bool] = []
    weakref.finalize(cycle, freed.append, True)
    collector.freeze()
    assert gc.get_freeze_count() > 0
    del cycle
    gc.collect()
    assert freed == []  # a full pass does not walk frozen objects
    assert collector.thaw() >= 1
    assert freed == [True]
    assert gc.get_freeze_count() > 0  # frozen again after the pass


def test_young_garbage_cycles_are_collected_before_the_freeze() -> None:
    freed: list[bool] = []
    cycle = Node()
    cycle.me = cycle
    weakref.finalize(cycle, freed.append, True)
    del cycle
    Collector().freeze()
    assert freed == [True]


async def test_the_thaw_waits_until_no_fan_out_is_under_way() -> None:
    quiet = asyncio.Event()  # a fan-out is being emitted
    thaws: list[bool] = []
    collector = Collector(quiet=quiet, freeze_every=0.001, thaw_every=0)
    collector.thaw = lambda: thaws.append(quiet.is_set()) or 0  # type: ignore[method-assign]
    task = asyncio.create_task(collector.run())
    for _ in range(20):
        await asyncio.sleep(0.001)
    assert thaws == []
    quiet.set()
    for _ in range(1000):
        if thaws:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    assert thaws[:1] == [True]

"""Publishing the measured messages to a server under test, and the CPU each one costs.

Used by `fanout.py`: the same code publishes to Postboard and to the floor.
"""

import argparse
import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass

from _stack import group_cpu_seconds, machine_busy_seconds
from _tabs import Inbox
from redis.asyncio import Redis

# Builds the (channel, message) to publish for a post id.
Message = Callable[[int], tuple[str, str]]


@dataclass
class Target:
    """A running server under test."""

    mode: str
    port: int
    pgid: int
    message: Message


@dataclass
class CpuSample:
    """CPU seconds used so far by the server's processes, this process and the whole machine."""

    server: float = 0.0
    client: float = 0.0
    machine: float = 0.0
    wall: float = 0.0

    @classmethod
    def take(cls, pgid: int) -> "CpuSample":
        """Read the counters now (a few ms: it scans /proc)."""
        return cls(group_cpu_seconds(pgid), time.process_time(), machine_busy_seconds(), time.perf_counter())

    def __sub__(self, other: "CpuSample") -> "CpuSample":
        """Return the counters used between two readings."""
        return CpuSample(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __add__(self, other: "CpuSample") -> "CpuSample":
        """Return the sum of two intervals' counters."""
        return CpuSample(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def others_cores(self) -> float:
        """Return how many cores other processes kept busy over this interval, on average."""
        return max(0.0, self.machine - self.server - self.client) / self.wall if self.wall else 0.0


@dataclass
class Rounds:
    """What publishing the measured messages produced, besides the inbox."""

    sent: dict[int, float]
    fanout: CpuSample  # summed over each message's publish → last tab
    window: CpuSample  # the whole series of messages


async def publish_one(
    redis: Redis, inbox: Inbox, message: Message, post_id: int, wait_s: float, *, tabs: int | None = None
) -> float:
    """Publish one post, wait until every tab (or `tabs` of them) has it or `wait_s` passed; return the publish time."""
    complete = inbox.expect(post_id, tabs)
    channel, data = message(post_id)
    sent = time.perf_counter()
    await redis.publish(channel, data)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(complete.wait(), wait_s)
    return sent


async def publish_rounds(
    redis: Redis, inbox: Inbox, target: Target, ids: Sequence[int], args: argparse.Namespace
) -> Rounds:
    """Publish `ids` `args.spacing` apart with this process's collector off; measure CPU used."""
    sent: dict[int, float] = {}
    fanout = CpuSample()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        start = CpuSample.take(target.pgid)
        for post_id in ids:
            before = CpuSample.take(target.pgid)
            sent[post_id] = await publish_one(redis, inbox, target.message, post_id, args.timeout)
            fanout += CpuSample.take(target.pgid) - before
            await asyncio.sleep(max(0.0, args.spacing - (time.perf_counter() - sent[post_id])))
        window = CpuSample.take(target.pgid) - start
    finally:
        gc.enable()
        gc.unfreeze()
    return Rounds(sent=sent, fanout=fanout, window=window)

"""Exactly one scheduler sends: a Redis lease held by one `taskiq scheduler`; any other stands by.

Without it, two schedulers would each send every periodic job (each keeps its own "last run" in
memory) and every delayed retry (both read it from Redis before either deletes it).
"""

import asyncio
import logging
import signal
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker, ScheduledTask, ScheduleSource, TaskiqScheduler
from taskiq.cli.scheduler.run import SchedulerLoop
from taskiq.exceptions import ScheduledTaskCancelledError, SendTaskError
from taskiq.utils import maybe_awaitable

from postboard import names
from postboard.errors import OUTAGES
from postboard.monitor.store import async_reply

log = logging.getLogger(__name__)


_read_schedules_done = SchedulerLoop._update_schedules_task_future_callback


def _skip_cancelled_read(loop: SchedulerLoop, task: asyncio.Task[Any]) -> None:
    # SIGTERM cancels the scheduler (see LeaderScheduler.startup); a schedule read in flight is
    # cancelled with it, and taskiq 0.12's done-callback calls .result() on it, so asyncio logged
    # a CancelledError traceback on every stop that caught a read (a test failed on it).
    if not task.cancelled():
        _read_schedules_done(loop, task)


setattr(SchedulerLoop, "_update_schedules_task_future_callback", _skip_cancelled_read)  # noqa: B010

# A due job Redis would not take: the scheduler steps down and reads its schedules again later.
SEND_FAILURES: tuple[type[Exception], ...] = (SendTaskError, *OUTAGES)

# Take the lease if it is free, or extend it if this scheduler holds it.
_ACQUIRE = (
    "local holder = redis.call('get', KEYS[1]) "
    "if holder == false or holder == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class LeaderLease:
    """A Redis lease (SET NX PX, renewed by its holder); `is_leader` turns false before it can expire."""

    def __init__(self, redis: Redis, *, ttl: float, cooldown: float, key: str = names.SCHEDULER_LEADER) -> None:
        self.redis, self.key, self.ttl, self.cooldown = redis, key, ttl, cooldown
        self.token = f"{names.process_id()}:{uuid.uuid4().hex[:8]}"
        self._leading = False
        self._valid_until = 0.0
        self._contend_after = 0.0
        self._holder: str | None = None

    def is_leader(self) -> bool:
        """Whether this process holds the lease now (by its own clock, counted from before the last renewal)."""
        return self._leading and time.monotonic() < self._valid_until

    async def refresh(self) -> bool:
        """Renew the lease, or take it if it is free; log every change of role."""
        started = time.monotonic()
        was = self._leading
        if self._leading or started >= self._contend_after:
            held = bool(await async_reply(self.redis.eval(_ACQUIRE, 1, self.key, self.token, int(self.ttl * 1000))))
        else:
            held = False
        self._leading = held
        if held:
            self._valid_until = started + self.ttl
            if not was:
                log.info("scheduler %s is the leader: it sends periodic jobs and due retries", self.token)
            return True
        await self._standing_by(lost=was)
        return False

    async def _standing_by(self, *, lost: bool) -> None:
        if lost:
            # Until the loop has re-read (and so forgotten) its schedules, it must not lead again.
            self._contend_after = time.monotonic() + self.cooldown
        holder = await self.redis.get(self.key)
        holder = holder.decode() if isinstance(holder, bytes) else holder
        if lost:
            log.warning("scheduler %s lost the lease to %s; standing by", self.token, holder)
        elif holder != self._holder and holder != self.token:
            log.info("scheduler %s is standby: %s leads; taking over when its lease lapses", self.token, holder)
        self._holder = holder

    def lapse(self) -> None:
        """Stop leading when the lease could not be renewed (Redis unreachable) and may have expired."""
        if self._leading and time.monotonic() >= self._valid_until:
            self.step_down()
            log.warning("scheduler %s could not renew its lease; standing by", self.token)

    def step_down(self) -> None:
        """Stop leading for one cool-down (the lease in Redis lapses, or is renewed by this process after it)."""
        self._leading = False
        self._contend_after = time.monotonic() + self.cooldown

    async def keep(self) -> None:
        """Renew (or contend for) the lease several times per lease period, forever."""
        while True:
            await asyncio.sleep(self.ttl / 4)
            try:
                await self.refresh()
            except OUTAGES as exc:
                log.warning("scheduler lease: Redis unreachable (%s)", exc)
                self.lapse()
            except Exception:
                log.exception("scheduler lease renewal failed")
                self.lapse()

    async def release(self) -> None:
        """Give the lease up (a clean stop): a standby takes over at its next renewal."""
        if self._leading:
            self._leading = False
            await async_reply(self.redis.eval(_RELEASE, 1, self.key, self.token))
            log.info("scheduler %s released the lease", self.token)


class LeaderOnlySource(ScheduleSource):
    """A schedule source that shows its schedules only to the leader, and sends only while it leads.

    A standby reading nothing (rather than reading and not sending) matters: taskiq's loop marks a
    schedule as run when it decides to send it, and would never send it again after a takeover.
    """

    def __init__(self, inner: ScheduleSource, lease: LeaderLease) -> None:
        super().__init__()
        self.inner, self.lease = inner, lease

    async def startup(self) -> None:
        """Start the wrapped source."""
        await self.inner.startup()

    async def shutdown(self) -> None:
        """Stop the wrapped source."""
        await self.inner.shutdown()

    async def get_schedules(self) -> list[ScheduledTask]:
        """The wrapped source's schedules on the leader; none on a standby."""
        return await self.inner.get_schedules() if self.lease.is_leader() else []

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        """Add to the wrapped source."""
        await self.inner.add_schedule(schedule)

    async def delete_schedule(self, schedule_id: str) -> None:
        """Delete from the wrapped source."""
        await self.inner.delete_schedule(schedule_id)

    async def pre_send(self, task: ScheduledTask) -> None:
        """Refuse to send once the lease is gone (a scheduler paused past its lease)."""
        if not self.lease.is_leader():
            log.warning("scheduler %s no longer leads: not sending %s", self.lease.token, task.task_name)
            raise ScheduledTaskCancelledError
        await maybe_awaitable(self.inner.pre_send(task))

    async def post_send(self, task: ScheduledTask) -> None:
        """Let the wrapped source forget a one-off schedule it sent."""
        await maybe_awaitable(self.inner.post_send(task))


class LeaderScheduler(TaskiqScheduler):
    """A TaskiqScheduler whose sources are gated by a lease; SIGTERM stops it cleanly and frees the lease."""

    def __init__(self, broker: AsyncBroker, sources: list[ScheduleSource], lease: LeaderLease) -> None:
        super().__init__(broker=broker, sources=[LeaderOnlySource(s, lease) for s in sources])
        self.lease = lease
        self._keeping: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Open the broker, take the lease if it is free, and keep renewing it."""
        await super().startup()
        try:
            await self.lease.refresh()
        except OUTAGES as exc:
            log.warning("scheduler lease: Redis unreachable at start (%s); standing by", exc)
        self._keeping = asyncio.create_task(self.lease.keep())
        main = asyncio.current_task()
        if main is not None:
            # taskiq's scheduler loop shuts down (and so releases the lease) when its task is cancelled.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)

    async def on_ready(self, source: ScheduleSource, task: ScheduledTask) -> None:
        """Send a due job; if Redis refuses it, step down so the loop forgets it and the schedules are read again.

        taskiq's loop marks a one-off schedule as sent before sending it; after a failed send it
        would never try that schedule again while it still sees it.
        """
        try:
            await super().on_ready(source, task)
        except SEND_FAILURES as exc:
            log.warning("scheduler could not send %s (%s); standing by, then reading it again", task.task_name, exc)
            self.lease.step_down()

    async def shutdown(self) -> None:
        """Stop renewing, release the lease, close the broker."""
        if self._keeping is not None:
            self._keeping.cancel()
        try:
            await self.lease.release()
        except OUTAGES as exc:
            log.warning("scheduler lease not released (%s); it lapses by itself", exc)
        await self.lease.redis.aclose()
        await super().shutdown()


def lease_from_url(url: str, **kwargs: Any) -> LeaderLease:
    """Open a lease on a Redis URL."""
    return LeaderLease(Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5), **kwargs)

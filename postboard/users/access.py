"""The live sessions of a process's tabs, kept in memory and re-read only when access may have changed.

The socket gate asks every second which of its tabs' sessions are still live and with what
role. Reading them all each time cost 140 ms a second at 5,000 tabs (an IN list of 5,000,
in a thread holding the interpreter against the fan-out). Instead each call reads one row,
the access epoch, which every sign-out and role change raises in its own transaction: while
it stands still only sessions not yet known, and known ones past their expiry, are read.
All of them are read again when it moved, and every `FULL_EVERY` seconds in any case (a
change made to the database behind Postboard's back, say by hand in SQL).
"""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlmodel import Session

from postboard.clock import utcnow
from postboard.users.models import Role
from postboard.users.service import LiveSession, access_epoch, live_sessions_until

FULL_EVERY = 60.0


class SessionCache:
    """Answers the gate's "which of these sessions are live, and as whom" from memory while nothing changed."""

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        *,
        full_every: float = FULL_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.full_every = full_every
        self._clock = clock
        self._known: dict[str, LiveSession] = {}
        self._epoch: int | None = None
        self._full_at = float("-inf")
        # How many sessions each read asked the database for (the tests read it).
        self.reads: list[int] = []

    def __call__(self, hashes: Sequence[str]) -> dict[str, tuple[int, Role]]:
        """Return, for each of these token hashes still live, its user's id and role."""
        now = utcnow()
        with self._sessions() as session:
            # The epoch first: a change committed after this read moves it again for the next call.
            epoch = access_epoch(session)
            full = epoch != self._epoch or self._clock() - self._full_at >= self.full_every
            wanted = list(hashes) if full else list(self._unsure(hashes, now=now))
            found = live_sessions_until(session, token_hashes=wanted) if wanted else {}
        self.reads.append(len(wanted))
        if full:
            self._known, self._epoch, self._full_at = found, epoch, self._clock()
        else:
            for token in wanted:
                if token in found:
                    self._known[token] = found[token]
                else:
                    self._known.pop(token, None)
        return {t: (s.user_id, s.role) for t in hashes if (s := self._known.get(t)) is not None and s.expires_at > now}

    def _unsure(self, hashes: Sequence[str], *, now: datetime) -> Iterator[str]:
        for token in hashes:
            known = self._known.get(token)
            if known is None or known.expires_at <= now:
                yield token

"""The dashboard widgets' state: figures read at load, then pushed by the dashboard hub (never polled)."""

from typing import Any

from postboard import names
from postboard.live.presence import Presence
from postboard.web import deps
from postboard.web.dashboard_hub import connected_online, load_figures
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.gate import gate
from postboard.web.realtime import rooms
from postboard.web.state import AppState

Row = dict[str, Any]


class DashboardState(AppState):
    """Stat cards, chart, live tables, who is online; the system figures for admins."""

    posts_today: Field[int] = field(0)
    emails_today: Field[int] = field(0)
    failed_today: Field[int] = field(0)
    users_online: Field[int] = field(0)
    chart: Field[list[Row]] = field(default_factory=list)
    latest_posts: Field[list[Row]] = field(default_factory=list)
    online: Field[list[Row]] = field(default_factory=list)
    listing: Field[bool] = field(True)
    # Admins only: the dashboard hub sends these to the admin channel alone.
    queues: Field[list[Row]] = field(default_factory=list)
    workers: Field[int] = field(0)
    failure_rate: Field[str] = field("—")
    failed_15m: Field[int] = field(0)
    finished_15m: Field[int] = field(0)
    latest_deliveries: Field[list[Row]] = field(default_factory=list)
    online_all: Field[list[Row]] = field(default_factory=list)

    @event
    async def load(self) -> None:
        """Read the figures, then enter the dashboard channels (the admin one only for admins)."""
        if not self.signed_in:
            return
        public, system = await load_figures(
            Presence(deps.job_store().redis),
            deps.job_store(),
            here=lambda: connected_online(gate, rooms),
            admin=self.is_admin,
        )
        for values in (public, system if self.is_admin else None):
            for var, value in (values or {}).items():
                setattr(self, var, value)
        await self._enter(names.DASHBOARD_ROOM)
        if self.is_admin:
            await self._enter(names.DASHBOARD_ADMIN_ROOM)

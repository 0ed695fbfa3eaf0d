"""The Taskiq scheduler: periodic jobs (labels) and delayed retries (the retry source).

Run it as `postboard.dev.services.scheduler_command()` spells it. Several may run: only the
holder of the Redis lease sends (`tasks.leader`); the others stand by and one takes over
within `SCHEDULER_LEASE_SECONDS` (plus one `SCHEDULER_INTERVAL`) of the leader dying.
"""

from taskiq.schedule_sources import LabelScheduleSource

from postboard.settings import get_settings
from tasks.brokers import notifications_broker, retry_source
from tasks.leader import LeaderScheduler, lease_from_url

_settings = get_settings()
scheduler = LeaderScheduler(
    broker=notifications_broker,
    sources=[LabelScheduleSource(notifications_broker), retry_source],
    lease=lease_from_url(
        _settings.redis_url,
        ttl=_settings.scheduler_lease_seconds,
        cooldown=_settings.scheduler_interval + 1.0,
    ),
)

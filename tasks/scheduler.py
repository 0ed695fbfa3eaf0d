"""The one Taskiq scheduler: periodic jobs (labels) and delayed retries (the retry source).

Run it as `postboard.dev.services.scheduler_command()` spells it, exactly once.
"""

from taskiq import TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource

from tasks.brokers import notifications_broker, retry_source

scheduler = TaskiqScheduler(
    broker=notifications_broker, sources=[LabelScheduleSource(notifications_broker), retry_source]
)

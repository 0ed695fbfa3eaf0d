"""The one Taskiq scheduler: `taskiq scheduler tasks.scheduler:scheduler tasks.relay`."""

from taskiq import TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource

from tasks.brokers import notifications_broker

scheduler = TaskiqScheduler(broker=notifications_broker, sources=[LabelScheduleSource(notifications_broker)])

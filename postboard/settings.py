"""One settings object, read from the environment and `.env`."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from postboard import names

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting Postboard reads; `.env.example` lists them all."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'var' / 'postboard.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    app_url: str = "http://localhost:3000"
    session_days: int = 14

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 30.0
    mail_from: str = "postboard@example.com"
    mail_from_name: str = "Postboard"

    email_chunk_size: int = Field(default=500, ge=1, le=10_000)
    mailbox_dir: Path = ROOT / "var" / "mailbox"
    live_enabled: bool = True
    live_buffer: int = Field(default=20, ge=1, le=200)
    job_idle_timeout_ms: int = 600_000
    email_concurrency: int = Field(default=8, ge=1)
    notification_concurrency: int = Field(default=4, ge=1)
    # Jobs one worker process runs at once on each of the sms, slack and webhooks queues.
    channel_concurrency: int = Field(default=4, ge=1)
    # Worker processes per queue (`taskiq worker --workers N`); a queue not named gets 1.
    worker_processes_by_queue: dict[str, int] = {names.EMAILS_QUEUE: 2}

    # Seconds before each retry of a failed delivery or job; attempts = len + 1.
    retry_delays: Annotated[list[float], NoDecode] = [60.0, 300.0, 900.0]
    # A delivery claimed `sending` this long (its run died) is free for another run;
    # keep it above the longest single send (SMTP_TIMEOUT) and below JOB_IDLE_TIMEOUT_MS.
    send_lease_seconds: float = Field(default=120.0, gt=0)
    # How often the one scheduler re-reads schedules: bounds how late a retry fires.
    scheduler_interval: int = Field(default=5, ge=1)
    # The sending scheduler's Redis lease (seconds): a standby takes over this long after the leader died.
    scheduler_lease_seconds: float = Field(default=6.0, ge=2)
    # Long-wait alert: oldest waiting job older than this (seconds), per queue.
    long_wait_seconds: float = Field(default=60.0, gt=0)
    long_wait_by_queue: dict[str, float] = {}
    # How often the queue monitor and progress bars are refreshed and pushed.
    monitor_interval: float = Field(default=1.0, gt=0)
    # Whether members see who is online on the dashboard (false: only the count; admins still see the list).
    presence_listing: bool = True
    # Whether each backend freezes its long-lived objects out of the garbage collector (`web.collector`):
    # fan-out p99 without full passes, for up to 5 min of cyclic garbage held (false: Python's own GC).
    gc_freeze: bool = True

    # Production mode (`postboard serve`): backend processes behind nginx, Granian workers in each,
    # the first backend's port (the others follow it), nginx's port, and the origins the socket accepts.
    web_backends: int = Field(default=1, ge=1)
    web_workers: int = Field(default=2, ge=1)
    web_port: int = Field(default=8000, ge=1, le=65535)
    proxy_port: int = Field(default=8080, ge=1, le=65535)
    allowed_origins: Annotated[list[str], NoDecode] = []

    # POST /api/events: events per second per API token (0: no limit).
    api_rate_limit: int = Field(default=50, ge=0)

    # Outbound channels: Slack, SMS and webhooks.
    # Slack incoming-webhook URL used when a rule names none.
    slack_webhook_url: str = ""
    # `capture` keeps every SMS for /smsbox (dev); `http` posts it to the gateway below.
    sms_provider: Literal["capture", "http"] = "capture"
    sms_http_url: str = ""
    # Bearer token; when empty, basic auth with the username and password (if set).
    sms_http_token: str = ""
    sms_http_username: str = ""
    sms_http_password: str = ""
    sms_from: str = "Postboard"
    sms_dir: Path = ROOT / "var" / "sms"
    # Default webhook signing secret; empty: webhooks without their own secret go unsigned.
    webhook_secret: str = ""
    # Seconds one outbound HTTP request (Slack, SMS gateway, webhook) may take.
    http_timeout: float = Field(default=10.0, gt=0)

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _parse_delays(cls, value: Any) -> Any:
        """Accept `60,300,900` as well as a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in (p.strip() for p in text.split(",")) if part]
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        """Accept `https://a.example,https://b.example`."""
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        return value

    def web_ports(self) -> list[int]:
        """Return the port of each production backend process."""
        return [self.web_port + i for i in range(self.web_backends)]

    @field_validator("retry_delays")
    @classmethod
    def _check_delays(cls, value: list[float]) -> list[float]:
        """Delays cannot be negative."""
        if any(d < 0 for d in value):
            raise ValueError("retry delays cannot be negative")
        return value

    def long_wait_threshold(self, queue: str) -> float:
        """Return the long-wait alert threshold of one queue, in seconds."""
        return self.long_wait_by_queue.get(queue, self.long_wait_seconds)

    @field_validator("worker_processes_by_queue")
    @classmethod
    def _check_processes(cls, value: dict[str, int]) -> dict[str, int]:
        """Every named queue exists and gets at least one process."""
        unknown = set(value) - set(names.QUEUES)
        if unknown:
            raise ValueError(f"unknown queue(s) {sorted(unknown)}; queues are {list(names.QUEUES)}")
        if any(n < 1 for n in value.values()):
            raise ValueError("a queue needs at least one worker process")
        return value

    def worker_processes(self, queue: str) -> int:
        """Return how many worker processes serve a queue."""
        return self.worker_processes_by_queue.get(queue, 1)

    def queue_concurrency(self, queue: str) -> int:
        """Return how many jobs one worker process of a queue runs at once."""
        if queue == names.EMAILS_QUEUE:
            return self.email_concurrency
        if queue == names.NOTIFICATIONS_QUEUE:
            return self.notification_concurrency
        return self.channel_concurrency


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear the cache)."""
    return Settings()

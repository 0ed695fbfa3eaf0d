"""One settings object, read from the environment and `.env`."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear the cache)."""
    return Settings()

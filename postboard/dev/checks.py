"""What production mode refuses to start with, and why; and what it accepts, saying why that is fine."""

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from postboard.settings import Settings

# Filesystems on which SQLite's locking is not to be trusted across processes.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p")
# Secrets nobody should run with.
WEAK_SECRETS = ("secret", "changeme", "change-me", "password", "postboard")

# Redis URL -> (appendonly, save) as the server reports them; None when they cannot be read.
PersistenceProbe = Callable[[str], tuple[str, str] | None]


@dataclass
class Verdict:
    """Reasons not to start, and notes on what was accepted."""

    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def redis_persistence(url: str) -> tuple[str, str] | None:
    """Ask a Redis for its `appendonly` and `save` settings (None if CONFIG is not allowed); raise if unreachable."""
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, decode_responses=True)
    try:
        client.ping()
        try:
            found: dict[str, str] = {**client.config_get("appendonly"), **client.config_get("save")}  # type: ignore[dict-item]  # sync client: a dict, not an awaitable
            appendonly, save = found.get("appendonly", ""), found.get("save", "")
        except RedisError:
            return None  # managed Redis services often refuse CONFIG
        return str(appendonly), str(save)
    finally:
        client.close()


def filesystem_of(path: Path) -> str:
    """Return the filesystem type of the mount holding `path` (Linux /proc/mounts; '' if unknown)."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return ""
    target = path.resolve()
    best, kind = -1, ""
    for fields in mounts:
        if len(fields) < 3:
            continue
        point = Path(fields[1])
        if (target == point or point in target.parents) and len(point.parts) > best:
            best, kind = len(point.parts), fields[2]
    return kind


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_database(settings: Settings, verdict: Verdict) -> None:
    """SQLite is fine for several processes on one host, on a local disk; say so, or refuse."""
    url = settings.database_url
    if not url.startswith("sqlite"):
        return
    path_text = url.split(":///", 1)[1] if ":///" in url else ""
    if not path_text or path_text == ":memory:" or "mode=memory" in url:
        verdict.refusals.append(f"DATABASE_URL={url} is an in-memory SQLite: every process would have its own database")
        return
    path = Path(path_text)
    kind = filesystem_of(path.parent if path.parent.exists() else Path("/"))
    if kind in NETWORK_FILESYSTEMS:
        verdict.refusals.append(
            f"SQLite file {path} is on {kind}: its locks do not hold across processes there; use PostgreSQL"
        )
        return
    processes = settings.web_backends * settings.web_workers
    verdict.notes.append(
        f"SQLite with {processes} web process(es) and the workers is safe on this one host: WAL lets readers "
        "run beside the one writer, busy_timeout (30 s) queues writers, every claim is one transaction. "
        "Writes are serialised, so heavy write load or a second host needs PostgreSQL (DATABASE_URL)."
    )


def check_redis(settings: Settings, env: Mapping[str, str], verdict: Verdict, probe: PersistenceProbe) -> None:
    """Redis must keep jobs, schedules and tab state across a restart."""
    if not env.get("REDIS_URL"):
        verdict.notes.append(
            "REDIS_URL is not set: an embedded Redis runs with appendonly (AOF) in var/redis; "
            "fine on one host, point REDIS_URL at a managed or replicated Redis for more"
        )
        return
    try:
        found = probe(settings.redis_url)
    except (RedisError, OSError) as exc:
        verdict.refusals.append(f"Redis at {settings.redis_url} is not reachable: {exc}")
        return
    if found is None:
        verdict.notes.append("Redis does not let us read its persistence settings (CONFIG): make sure AOF or RDB is on")
        return
    appendonly, save = found
    if appendonly != "yes" and not save.strip():
        verdict.refusals.append(
            f"Redis at {settings.redis_url} has no persistence (appendonly {appendonly}, save '{save}'): "
            "a restart would lose queued jobs, delayed retries and tab state; turn on appendonly yes"
        )


def check_secrets(settings: Settings, env: Mapping[str, str], verdict: Verdict) -> None:
    """Mail must go to a real server with its credentials; no default or weak secrets."""
    if not env.get("SMTP_HOST"):
        verdict.refusals.append("SMTP_HOST is not set: production mail would go to the dev sink; set SMTP_HOST/PORT")
    if settings.smtp_username and not settings.smtp_password:
        verdict.refusals.append("SMTP_USERNAME is set but SMTP_PASSWORD is empty")
    if settings.sms_provider == "http":
        if not settings.sms_http_url:
            verdict.refusals.append("SMS_PROVIDER=http needs SMS_HTTP_URL")
        if not (settings.sms_http_token or settings.sms_http_password):
            verdict.refusals.append("SMS_PROVIDER=http needs SMS_HTTP_TOKEN or SMS_HTTP_USERNAME/PASSWORD")
    else:
        verdict.notes.append("SMS_PROVIDER=capture: texts are kept for /smsbox, none is sent")
    for name, value in (("WEBHOOK_SECRET", settings.webhook_secret), ("SMTP_PASSWORD", settings.smtp_password)):
        if value and (value.lower() in WEAK_SECRETS or len(value) < 12):
            verdict.refusals.append(f"{name} is a default or short secret (fewer than 12 characters)")
    if not settings.webhook_secret:
        verdict.notes.append("WEBHOOK_SECRET is empty: webhooks of rules without their own secret go unsigned")


def check_production(
    settings: Settings,
    env: Mapping[str, str],
    *,
    nginx: str | None,
    probe: PersistenceProbe = redis_persistence,
    port_is_free: Callable[[int], bool] = port_free,
) -> Verdict:
    """Check everything production mode needs; `env` says what the operator set (environment and .env)."""
    verdict = Verdict()
    if not env.get("APP_URL"):
        verdict.refusals.append(
            f"APP_URL is not set: email links and the built front end's backend address come from it "
            f"(e.g. APP_URL=http://localhost:{settings.proxy_port} for nginx on this host)"
        )
    if "*" in settings.allowed_origins:
        verdict.refusals.append("ALLOWED_ORIGINS contains '*': any site could open sockets as your users")
    if nginx is None:
        verdict.refusals.append("nginx not found: apt-get install nginx, or set NGINX_PATH")
    check_database(settings, verdict)
    check_redis(settings, env, verdict, probe)
    check_secrets(settings, env, verdict)
    for port in (settings.proxy_port, *settings.web_ports()):
        if not port_is_free(port):
            verdict.refusals.append(f"port {port} is already in use (PROXY_PORT / WEB_PORT…)")
    return verdict

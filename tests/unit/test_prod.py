"""Production mode: the plan of every process, what it refuses to start with, and the nginx config nginx accepts."""

from pathlib import Path

import pytest

from postboard.dev.checks import Verdict, check_production
from postboard.dev.prod import describe, plan, shared_env
from postboard.dev.proxy import find_nginx, nginx_command, render_config, write_config
from postboard.settings import Settings

GOOD_ENV = {"APP_URL": "https://board.example.com", "REDIS_URL": "redis://db:6379/0", "SMTP_HOST": "mail"}


def _settings(**over: object) -> Settings:
    base: dict[str, object] = {"app_url": "https://board.example.com", "database_url": "sqlite:////srv/pb.db"}
    return Settings(**(base | over))  # type: ignore[arg-type]


def _check(settings: Settings, env: dict[str, str] = GOOD_ENV, **kw: object) -> Verdict:
    args: dict[str, object] = {
        "nginx": "/usr/sbin/nginx",
        "probe": lambda _url: ("yes", ""),
        "port_is_free": lambda _p: True,
    }
    return check_production(settings, env, **(args | kw))  # type: ignore[arg-type]


def test_the_plan_has_every_backend_one_worker_group_per_queue_one_scheduler_and_nginx(tmp_path: Path) -> None:
    settings = _settings(web_backends=2, web_workers=3, web_port=9000)
    procs = {p.name: p for p in plan(settings, nginx_conf=tmp_path / "nginx.conf", var=tmp_path)}
    assert list(procs) == [
        "web-1",
        "web-2",
        "worker-emails",
        "worker-notifications",
        "worker-sms",
        "worker-slack",
        "worker-webhooks",
        "scheduler",
        "nginx",
    ]
    assert procs["web-2"].env == {
        "BACKEND_PORT": "9001",
        "GRANIAN_WORKERS": "3",
        # Not the one folder both would empty as they start.
        "REFLEX_STATES_WORKDIR": str(tmp_path / "states" / "web-2"),
    }
    web = procs["web-2"].cmd
    assert web[1:6] == ["run", "--env", "prod", "--backend-only", "--backend-port"]
    assert web[6] == "9001"
    emails = procs["worker-emails"].cmd
    assert emails[emails.index("--workers") + 1] == "2"
    assert procs["worker-sms"].cmd[procs["worker-sms"].cmd.index("--workers") + 1] == "1"
    assert procs["scheduler"].cmd[1:3] == ["scheduler", "tasks.scheduler:scheduler"]
    assert procs["nginx"].cmd[-4:] == ["-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"]


def test_print_shows_the_env_and_exact_command_of_every_process(tmp_path: Path) -> None:
    settings = _settings(web_backends=2)
    env = shared_env(settings, {"REDIS_URL": "redis://db:6379/0"})
    text = describe(plan(settings, nginx_conf=tmp_path / "n.conf", var=tmp_path), env)
    assert "export POSTBOARD_MODE=prod" in text
    assert "export REFLEX_REDIS_URL=redis://db:6379/0" in text
    assert "export ALLOWED_ORIGINS=https://board.example.com" in text
    assert "export API_URL=https://board.example.com" in text
    assert "BACKEND_PORT=8001 GRANIAN_WORKERS=2 " in text
    assert "--workers 2 --max-async-tasks 8" in text
    assert text.count("taskiq worker") == 5
    assert text.count("taskiq scheduler") == 1
    assert "reflex export --frontend-only --no-zip --env prod" in text


def test_a_configured_host_with_persistent_redis_and_a_sqlite_file_starts_and_says_why_sqlite_is_fine() -> None:
    verdict = _check(_settings(web_backends=2, web_workers=2))
    assert verdict.refusals == []
    assert any("SQLite with 4 web process(es)" in note and "WAL" in note for note in verdict.notes)


@pytest.mark.parametrize(
    ("settings", "env", "kw", "reason"),
    [
        (_settings(), {**GOOD_ENV, "APP_URL": ""}, {}, "APP_URL is not set"),
        (_settings(), {k: v for k, v in GOOD_ENV.items() if k != "SMTP_HOST"}, {}, "SMTP_HOST is not set"),
        (_settings(database_url="sqlite://"), GOOD_ENV, {}, "in-memory SQLite"),
        (_settings(), GOOD_ENV, {"probe": lambda _url: ("no", "")}, "has no persistence"),
        (_settings(), GOOD_ENV, {"nginx": None}, "nginx not found"),
        (_settings(), GOOD_ENV, {"port_is_free": lambda p: p != 8080}, "port 8080 is already in use"),
        (_settings(webhook_secret="secret"), GOOD_ENV, {}, "WEBHOOK_SECRET is a default or short secret"),
        (_settings(allowed_origins=["*"]), GOOD_ENV, {}, "ALLOWED_ORIGINS contains '*'"),
        (_settings(smtp_username="mailer"), GOOD_ENV, {}, "SMTP_PASSWORD is empty"),
        (_settings(sms_provider="http"), GOOD_ENV, {}, "SMS_PROVIDER=http needs SMS_HTTP_URL"),
    ],
)
def test_production_refuses_with_the_reason(
    settings: Settings, env: dict[str, str], kw: dict[str, object], reason: str
) -> None:
    verdict = _check(settings, env, **kw)
    assert any(reason in r for r in verdict.refusals), verdict.refusals


def test_unreachable_redis_is_refused_and_an_embedded_one_is_noted_as_persistent() -> None:
    def down(_url: str) -> tuple[str, str]:
        raise ConnectionError("Error 111 connecting to db:6379. Connection refused.")

    assert any("not reachable" in r for r in _check(_settings(), probe=down).refusals)
    embedded = _check(_settings(), {k: v for k, v in GOOD_ENV.items() if k != "REDIS_URL"})
    assert embedded.refusals == []
    assert any("appendonly" in n for n in embedded.notes)


def test_the_nginx_config_proxies_sockets_with_upgrade_and_sticky_routing(tmp_path: Path) -> None:
    text = render_config(listen=8080, backends=[8000, 8001], static=tmp_path, prefix=tmp_path, conf=tmp_path / "n.conf")
    assert "server 127.0.0.1:8000" in text
    assert "server 127.0.0.1:8001" in text
    assert "hash $postboard_route consistent;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "/_event" in text
    assert "/api" in text
    assert f"root {tmp_path};" in text


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (make test installs it as root)")
def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    import subprocess

    conf = write_config(listen=18080, backends=[18000, 18001], static=tmp_path, prefix=tmp_path / "nginx")
    done = subprocess.run([*nginx_command(conf)[:-2], "-t"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

"""Production mode (`postboard serve`, `make prod`): the front end built once, backends behind nginx, the jobs.

The plan names every process with its exact command line and the environment it needs on
top of the settings, so `postboard serve --print` can hand them to systemd as they are.
"""

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from postboard.dev.checks import Verdict, check_production
from postboard.dev.proxy import find_nginx, nginx_command, write_config
from postboard.dev.runner import BIN, Stack, job_commands, migrate, start_standins, supervise
from postboard.dev.services import wait_for_port
from postboard.settings import ROOT, Settings, get_settings

# Where Reflex's production build puts the static front end.
BUILD_DIR = ROOT / ".web" / "build" / "client"


# What production mode sets on top of .env, printed by `postboard serve --print`.
PRINTED_ENV = (
    "POSTBOARD_MODE",
    "API_URL",
    "ALLOWED_ORIGINS",
    "REFLEX_REDIS_URL",
    "REFLEX_REDIS_MAX_CONNECTIONS",
    "REFLEX_SOCKET_INTERVAL",
    "REFLEX_SOCKET_TIMEOUT",
    "REFLEX_USE_NPM",
    "PYTHONUNBUFFERED",
)


@dataclass(frozen=True)
class Process:
    """One long-running process of the production stack."""

    name: str
    cmd: list[str]
    # What it needs on top of the shared environment.
    env: dict[str, str] = field(default_factory=dict)


def configured_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return what the operator set: `.env` overridden by the environment, empty values left out."""
    found = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v}
    found.update({k: v for k, v in (os.environ if base is None else base).items() if v})
    return found


def shared_env(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """Return the environment every production process runs with."""
    env = dict(base)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["POSTBOARD_MODE"] = "prod"
    env.setdefault("REFLEX_USE_NPM", "1")
    env.setdefault("REFLEX_SOCKET_INTERVAL", "5")
    env.setdefault("REFLEX_SOCKET_TIMEOUT", "10")
    env["PYTHONUNBUFFERED"] = "1"
    # The built front end talks to the backends through nginx, at the public URL.
    env["API_URL"] = settings.app_url.rstrip("/")
    origin = urlsplit(settings.app_url)
    env.setdefault("ALLOWED_ORIGINS", f"{origin.scheme}://{origin.netloc}")
    env["REFLEX_REDIS_URL"] = env.get("REDIS_URL", settings.redis_url)
    # Each Granian worker holds its own pool to the state manager's Redis.
    env.setdefault("REFLEX_REDIS_MAX_CONNECTIONS", "64")
    return env


def build_command() -> list[str]:
    """Return the command that builds the static front end once (into .web/build/client)."""
    return [str(BIN / "reflex"), "export", "--frontend-only", "--no-zip", "--env", "prod", "--loglevel", "warning"]


def web_command(port: int) -> list[str]:
    """Return one backend process's command: Reflex in production mode, backend only, Granian."""
    return [
        str(BIN / "reflex"),
        "run",
        "--env",
        "prod",
        "--backend-only",
        "--backend-port",
        str(port),
        "--backend-host",
        "127.0.0.1",
        "--loglevel",
        "warning",
    ]


def plan(settings: Settings, *, nginx_conf: Path, var: Path) -> list[Process]:
    """Return every long-running process: the web backends, one worker group per queue, the scheduler, nginx."""
    # Each backend its own (unused: tab states are in Redis) disk-state folder: `reflex run` empties
    # that folder as it starts, and two backends emptying one folder at once crashed one of them
    # (FileNotFoundError on a file the other had just removed).
    web = [
        Process(
            f"web-{i + 1}",
            web_command(port),
            {
                "BACKEND_PORT": str(port),
                "GRANIAN_WORKERS": str(settings.web_workers),
                "REFLEX_STATES_WORKDIR": str(var / "states" / f"web-{i + 1}"),
            },
        )
        for i, port in enumerate(settings.web_ports())
    ]
    jobs = [Process(name, cmd) for name, cmd in job_commands(settings).items()]
    return [*web, *jobs, Process("nginx", nginx_command(nginx_conf))]


def describe(processes: list[Process], env: Mapping[str, str]) -> str:
    """Return the shell lines that run the plan by hand: the shared settings, then each process."""
    keys = [*PRINTED_ENV]
    lines = [f"# every process (working directory {ROOT}), with the settings of .env:"]
    lines += [f"export {k}={shlex.quote(env[k])}" for k in keys if k in env]
    lines += ["", "# once, before the first start and after each upgrade:", shlex.join(build_command())]
    lines += [shlex.join([str(BIN / "alembic"), "upgrade", "head"]), ""]
    for proc in processes:
        extra = " ".join(f"{k}={shlex.quote(v)}" for k, v in proc.env.items())
        lines.append(f"# {proc.name}")
        lines.append(f"{extra} {shlex.join(proc.cmd)}".strip())
    return "\n".join(lines)


def build_frontend(env: Mapping[str, str], *, static: Path, log: Path | None = None) -> None:
    """Build the front end once and copy it to `static`, where nginx serves it."""
    out = log.open("ab") if log else None
    try:
        subprocess.run(build_command(), cwd=ROOT, env=dict(env), check=True, stdout=out, stderr=out)
    finally:
        if out:
            out.close()
    if static.exists():
        shutil.rmtree(static)
    shutil.copytree(BUILD_DIR, static)


def check(settings: Settings, configured: Mapping[str, str]) -> Verdict:
    """Run the production checks against these settings and what the operator configured."""
    return check_production(settings, configured, nginx=find_nginx())


def start_prod(settings: Settings, env: Mapping[str, str], *, root: Path, logs: Path | None = None) -> Stack:
    """Start the stand-ins still needed, migrate, build the front end, then every process of the plan."""
    stack = Stack(env=shared_env(settings, env))
    root.mkdir(parents=True, exist_ok=True)
    log_dir = logs or root
    start_standins(stack, var=root, log=lambda name: log_dir / f"{name}.log")
    stack.env["REFLEX_REDIS_URL"] = stack.env["REDIS_URL"]
    migrate(stack.env)
    static = root / "static"
    build_frontend(stack.env, static=static, log=logs and logs / "build.log")
    conf = write_config(listen=settings.proxy_port, backends=settings.web_ports(), static=static, prefix=root / "nginx")
    for proc in plan(settings, nginx_conf=conf, var=root):
        if proc.name == "nginx":
            for i, port in enumerate(settings.web_ports()):
                name = f"web-{i + 1}"
                if not wait_for_port(port, timeout=120) or stack.procs[name].poll() is not None:
                    stack.stop()
                    raise RuntimeError(f"{name} did not start on port {port}; see its log")
        stack.env_for[proc.name] = proc.env
        stack.start(proc.name, proc.cmd, log=logs and logs / f"{proc.name.removeprefix('worker-')}.log")
    for port in settings.web_ports():
        stack.where.append(("backend", f"http://127.0.0.1:{port}  ({settings.web_workers} Granian workers)"))
    stack.where.append(("nginx", f"{settings.app_url}  (127.0.0.1:{settings.proxy_port})"))
    return stack


def serve(*, print_only: bool = False) -> int:
    """`postboard serve`: check, then run production mode in the foreground (or print its processes)."""
    settings = get_settings()
    var = ROOT / "var" / "prod"
    if print_only:
        processes = plan(settings, nginx_conf=var / "nginx" / "nginx.conf", var=var)
        print(describe(processes, shared_env(settings, os.environ)))
        return 0
    verdict = check(settings, configured_env())
    for note in verdict.notes:
        print(f"note: {note}")
    if verdict.refusals:
        for reason in verdict.refusals:
            print(f"refused: {reason}")
        return 2
    stack = start_prod(settings, os.environ, root=var)
    return supervise(stack, restartable=("worker-", "scheduler", "web-"))

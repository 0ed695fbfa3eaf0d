"""nginx in front of the production backends: the built front end, and /_event, /api and the backend routes proxied."""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from postboard.settings import ROOT, get_settings

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")

# Paths the backends serve (the rest is the static front end): Reflex's own and Postboard's API.
BACKEND_PATHS = ("/_event", "/_upload", "/_health", "/_all_routes", "/auth-codespace", "/ping", "/api", "/metrics")

_TEMPLATE = """\
# Rendered by postboard.dev.proxy (`make nginx`). Runs as: nginx -p {prefix} -c {conf} -g 'daemon off;'
{user}worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 8192;
}}

http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    gzip_static on;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    # Sticky routing: one browser keeps one backend (socket.io's polling transport needs every request
    # of a session on the process that holds it; Reflex's default websocket transport is one connection).
    # The key is a cookie nginx sets on the first response, so browsers behind one address still spread.
    map $cookie_postboard_backend $postboard_route {{
        "" $request_id;
        default $cookie_postboard_backend;
    }}
    map $cookie_postboard_backend $postboard_route_cookie {{
        "" "postboard_backend=$request_id; Path=/; SameSite=Lax; HttpOnly";
        default "";
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}

    upstream postboard_backends {{
        hash $postboard_route consistent;
{servers}
    }}

    server {{
        listen {listen};
        server_name _;
        root {static};
        add_header Set-Cookie $postboard_route_cookie;

        location ~ ^({backend_paths}) {{
            proxy_pass http://postboard_backends;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # Sockets live for hours; pings (REFLEX_SOCKET_INTERVAL) keep them busy well within this.
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            # A backend that is down: the next one takes the request (and the tab's new socket).
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            add_header Set-Cookie $postboard_route_cookie;
        }}

        location /assets/ {{
            expires 1y;
            add_header Cache-Control "public, immutable";
        }}

        location / {{
            # Pages are prerendered to <route>.html or <route>/index.html; the rest (dynamic routes such
            # as /posts/12) is Reflex's SPA fallback, whose router renders the page in the browser.
            try_files $uri $uri.html $uri/index.html /__spa-fallback.html;
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    """Return the path of an nginx binary (NGINX_PATH, PATH, or Debian's /usr/sbin/nginx)."""
    configured = os.environ.get("NGINX_PATH")
    if configured and os.access(configured, os.X_OK):
        return configured
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    return None


def mime_types() -> str:
    """Return nginx's mime.types file (Debian: /etc/nginx/mime.types)."""
    return "/etc/nginx/mime.types"


def render_config(
    *, listen: int, backends: Sequence[int], static: Path, prefix: Path, conf: Path, root: bool | None = None
) -> str:
    """Return the nginx config: listen on 127.0.0.1:`listen`, serve `static`, proxy the backend paths to `backends`."""
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in backends)
    return _TEMPLATE.format(
        # Started as root, nginx's workers would run as nobody and could not read a private checkout.
        user="user root;\n" if (os.geteuid() == 0 if root is None else root) else "",
        prefix=prefix,
        conf=conf,
        mime_types=mime_types(),
        servers=servers,
        listen=f"127.0.0.1:{listen}",
        static=static,
        backend_paths="|".join(BACKEND_PATHS),
    )


def write_config(*, listen: int, backends: Sequence[int], static: Path, prefix: Path) -> Path:
    """Render the config into `prefix`/nginx.conf (and the temp folders it names); return the file."""
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_config(listen=listen, backends=backends, static=static, prefix=prefix, conf=conf))
    return conf


def nginx_command(conf: Path) -> list[str]:
    """Return the command line that runs nginx in the foreground with `conf`."""
    # Not installed yet: the plan still shows the command (production checks refuse to start).
    nginx = find_nginx() or "nginx"
    return [nginx, "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"]


def check_config(conf: Path) -> str | None:
    """Return nginx's complaint about `conf`, or None when `nginx -t` accepts it."""
    done = subprocess.run([*nginx_command(conf)[:-2], "-t"], capture_output=True, text=True)
    return None if done.returncode == 0 else done.stderr.strip()


def ensure_nginx() -> bool:
    """Find nginx or install Debian's package when running as root (what `make test` needs)."""
    if find_nginx():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            "nginx not found (the scale-out test will skip): apt-get install nginx or set NGINX_PATH", file=sys.stderr
        )
        return False
    print("Installing Debian's nginx for the scale-out test…", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env, stdout=subprocess.DEVNULL)
    return find_nginx() is not None


def main(argv: Sequence[str] | None = None) -> int:
    """`make nginx` (write), `make test` (ensure), or the committed example deploy/nginx.conf (example)."""
    parser = argparse.ArgumentParser(prog="python -m postboard.dev.proxy")
    parser.add_argument("what", choices=["write", "ensure", "example"])
    args = parser.parse_args(argv)
    if args.what == "ensure":
        ensure_nginx()
        return 0
    if args.what == "example":
        prefix = Path("/var/lib/postboard/nginx")
        print(
            render_config(
                listen=8080,
                backends=[8000, 8001],
                static=Path("/srv/postboard/static"),
                prefix=prefix,
                conf=prefix / "nginx.conf",
                root=False,
            ),
            end="",
        )
        return 0
    settings = get_settings()
    var = ROOT / "var" / "prod"
    conf = write_config(
        listen=settings.proxy_port, backends=settings.web_ports(), static=var / "static", prefix=var / "nginx"
    )
    print(f"wrote {conf}; run it with: {shlex.join(nginx_command(conf))}")
    problem = check_config(conf) if find_nginx() else "nginx not installed: not checked"
    if problem:
        print(problem, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Make sure a Chromium exists for the browser tests (Debian's package; see STACK-NOTES)."""

import os
import shutil
import subprocess
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Return the path of a Chromium, honouring CHROMIUM_PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured and os.access(configured, os.X_OK):
        return configured
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def main() -> int:
    """Find Chromium or install Debian's package when running as root."""
    if find_chromium():
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            "Chromium not found: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH.",
            file=sys.stderr,
        )
        return 1
    print("Installing Debian's chromium for the browser tests…", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return 0 if find_chromium() else 1


if __name__ == "__main__":
    sys.exit(main())

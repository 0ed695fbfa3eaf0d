"""Print, as JSON, what Postboard's compiled frontend puts in its socket.io CONNECT packet.

Run as a script (`python benchmarks/_boot.py OUT.json`): it imports the app, which
takes a few seconds, so the benchmark runs it in a subprocess while it seeds users.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path


def boot_spec() -> dict[str, object]:
    """Return the state name, schema hash, initial-state hashes and cookie var of the app."""
    from reflex.compiler import utils
    from reflex.constants.state import FIELD_MARKER
    from reflex.state import State, state_snapshot_hashes

    import postboard.postboard  # noqa: F401 - registers every state and page
    from postboard.web.state import SESSION_COOKIE, AppState

    cookies = utils.compile_client_storage(State)["cookies"]
    cookie_var = next(key for key, opts in cookies.items() if opts.get("name") == SESSION_COOKIE)
    return {
        "state_name": State.get_name(),
        "state_schema": State._to_frontend_schema(),
        "hashes": state_snapshot_hashes(utils.compile_state(State)),
        "cookie_var": cookie_var,
        "live_state": AppState.get_full_name(),
        "live_key": f"live_posts{FIELD_MARKER}",
        "reflex_version": version("reflex"),
    }


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(boot_spec()))

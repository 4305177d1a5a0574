"""The state of `up`'s background roles, shared with its API processes.

`up` runs the roles in child processes and the API in one or more others
(`--workers N`), none of which share memory. The supervisor writes each
role's state to a small file whenever it changes (written aside and renamed
over, so a reader never sees half of it); /readyz reads it, a few hundred
bytes, on each call. The file names the supervisor's pid: an API process
left behind by a supervisor that died does not report stale news as ready.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

STARTING: Final = "starting"  # spawned; its roles do not run yet
RUNNING: Final = "running"
DEAD: Final = "dead"  # exited; restarted after its backoff
UNSUPERVISED: Final = "unsupervised"  # the supervisor itself failed

# A status names a dozen roles; anything longer is not ours.
MAX_STATUS_BYTES: Final = 64 * 1024
PROJECTOR_ROLE: Final = "projector"


def check_names(roles: Sequence[str]) -> list[str]:
    """The names /readyz reports a process's roles under: one per role, and
    one per projection of a `projector:NAME,...` role."""
    names: list[str] = []
    for role in roles:
        kind, _, projections = role.partition(":")
        if kind == PROJECTOR_ROLE and projections:
            names += [f"{kind}:{name}" for name in projections.split(",")]
        else:
            names.append(role)
    return names


def write_roles_status(path: Path, states: Mapping[str, str]) -> None:
    body = json.dumps({"supervisor_pid": os.getpid(), "roles": dict(states)})
    aside = path.with_name(path.name + ".new")
    aside.write_text(body)
    os.replace(aside, path)


def role_checks(path: Path) -> dict[str, str]:
    """/readyz's checks for the roles: "ok" for each running one, else its
    state; one "workers" check when the status cannot be trusted."""
    try:
        with path.open("rb") as file:
            status = json.loads(file.read(MAX_STATUS_BYTES))
        supervisor_pid = int(status["supervisor_pid"])
        roles = {str(name): str(state) for name, state in status["roles"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {"workers": "unknown"}
    if not _alive(supervisor_pid):
        return {"workers": "supervisor gone"}
    return {name: "ok" if state == RUNNING else state for name, state in roles.items()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True

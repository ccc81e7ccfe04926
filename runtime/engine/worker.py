"""The engine's part of creating and starting a container (the server side of :mod:`runtime.client`).

The fork server forks a monitor, the monitor forks a worker, and for engine
requests the worker first runs :func:`prepare`: image lookup, the
container's directories and record, its OCI bundle. Then it creates the
container (:mod:`runtime.container`). The container's ``engine.lock`` is held
until the worker has recorded it as running, so two ``start`` commands
never race.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .. import fsutil, procfs, state
from ..errors import Conflict
from ..state import State, Status
from . import mounts, networking, runflags, specgen
from .engine import Engine
from .model import RunOptions


def prepare(request: dict[str, Any]) -> tuple[dict[str, Any], int, str | None]:
    """Do the engine's part; returns (the monitor's request, the held lock fd, a notice)."""
    engine = Engine(request["root"], request.get("cgroup_parent"))
    notice = None
    if request["engine"] == "run":
        notice = engine.setup()
        if "flags" in request:
            opts = runflags.to_options(request["flags"], request["operands"])
        else:
            opts = RunOptions.from_json(request["options"])
        networking.reserve_early(opts.host)  # a published port in use fails here, before anything exists
        cid = engine.create(opts).id
    else:
        cid = engine.resolve(request["ref"])
    paths = engine.paths(cid)
    lock_fd = os.open(os.path.join(paths.dir, "engine.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        import fcntl

        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        info = engine.info(cid)
        if not info.status.can_start():
            raise Conflict(f"container {info.record.short_id}: cannot start a container that is {info.status.value}")
        rec = info.record
        spec = specgen.bundle_spec(rec, paths, engine.cgroup_parent,
                                   extra_mounts=mounts.oci_mounts(engine.volume_store, rec))
        fsutil.write_json(paths.config, spec.to_dict(), sync=False)
        state.save(paths.dir, State(id=cid, bundle=paths.dir, status=Status.CREATING, created_ns=time.time_ns(),
                                    annotations=spec.annotations, terminal=spec.process.terminal,
                                    monitor_pid=os.getppid(), monitor_start=procfs.start_time(os.getppid())))
    except BaseException:
        os.close(lock_fd)
        if request["engine"] == "run" and opts.host.auto_remove:
            engine.remove(cid, force=True)
        raise
    prepared = {
        "id": cid, "bundle": paths.dir, "state_dir": paths.dir, "start": True,
        "attach": request.get("attach"), "stdin": rec.config.open_stdin, "console_size": request.get("console_size"),
        "hooks": "engine", "root": engine.root, "cgroup_parent": engine.cgroup_parent,
        "network_env": request.get("network_env") or {},
    }
    return prepared, lock_fd, notice

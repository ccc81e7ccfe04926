"""The engine's facade: everything the CLI and the TUI do with containers and images.

One :class:`Engine` per state root. It is synchronous and holds no threads;
the TUI calls it from workers. Containers are directories under
``containers/``; a name is a symlink ``names/<name> -> <id>`` created with
symlink(2), which fails if the name exists, so twenty commands racing for one
name leave exactly one container. Start, stop and remove of one container
are serialised by ``containers/<id>/engine.lock``.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import client, control, fsutil, launch, state
from ..cgroups.resources import Resources
from ..errors import Conflict, InvalidArgument, NotFound, TuidockError
from ..images.store import Image, ImageStore
from ..oci import runtime
from ..state import State, Status
from . import changes as changes_
from . import filecache
from . import inspect as inspect_
from . import mounts as mounts_
from . import volumes as volumes_
from . import names as namegen
from . import networking, processes, specgen
from .model import ContainerInfo, ContainerRecord, ContainerStatus, PortBinding, RestartPolicy, RunOptions, check_name
from .specgen import ContainerPaths

if TYPE_CHECKING:  # ssl and http.client stay out of the fork server until a pull or push needs them
    from collections.abc import Callable
    from typing import IO

    from ..images.archive import Loaded
    from ..images.layers import Limits
    from .build import BuildEvent, BuildOptions, BuildResult
    from .imagelayers import FileEntry, ImageLayers
    from .imageops import Deleted, HistoryRow, Summary
    from ..cgroups.stats import ContainerStats
    from ..images.distribution import Cancel, ProgressCallback, PullResult, PushResult
    from ..net.store import Endpoint

DEFAULT_ROOT = "/var/lib/tuidock"
DEFAULT_CGROUP_PARENT = "/tuidock"
SEED_MARKER = ".seeded"


class Engine:
    def __init__(self, root: str | None = None, cgroup_parent: str | None = None) -> None:
        self.root = os.path.abspath(root or os.environ.get("TUIDOCK_ROOT") or DEFAULT_ROOT)
        self.cgroup_parent = cgroup_parent or os.environ.get("TUIDOCK_CGROUP_PARENT") or DEFAULT_CGROUP_PARENT
        self.containers_dir = os.path.join(self.root, "containers")
        self.names_dir = os.path.join(self.root, "names")
        self.run_dir = os.path.join(self.root, "run")
        self.images = ImageStore(self.root)
        self._sampler: Any = None  # runtime.cgroups.stats.Sampler, made by the first stats() call
        self._stats_lock = threading.Lock()  # one stats() at a time: each CPU % is measured from the last
        self.volume_store = volumes_.VolumeStore(self.root)
        # Records and states parsed once per change: the TUI lists every container every second, and
        # parsing them again was most of its sampler's time.
        self._files = filecache.ParsedFiles()

    # ---- the store --------------------------------------------------------------

    def setup(self) -> str | None:
        """Create the state root if needed; build busybox:latest the first time.

        Returns a one-line notice when something was done the user should know about.
        """
        marker = os.path.join(self.root, SEED_MARKER)
        if os.path.exists(marker):
            return None
        for d in (self.root, self.containers_dir, self.names_dir, self.run_dir):
            os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.images.init()
        with fsutil.locked(os.path.join(self.root, "setup.lock")):
            if os.path.exists(marker):
                return None
            from ..images import busybox

            notice = None
            if self.images.find(busybox.REFERENCE) is None:
                try:
                    img = busybox.build(self.images)
                    notice = (f"built busybox:latest ({img.short_id}) from {busybox.BUSYBOX} "
                              f"({busybox.version()}) in {self.root}")
                except NotFound as e:
                    notice = f"busybox:latest not built: {e}"
            fsutil.atomic_write(marker, b"")
            return notice

    # ---- finding containers ----------------------------------------------------

    def paths(self, cid: str) -> ContainerPaths:
        return ContainerPaths(self.root, cid)

    def _ids(self) -> list[str]:
        try:
            return [n for n in os.listdir(self.containers_dir) if len(n) == 64 and not n.startswith(".")]
        except FileNotFoundError:
            return []

    def resolve(self, ref: str) -> str:
        """A container's id from its name, full id or unique id prefix."""
        if not ref:
            raise InvalidArgument("container name or id is empty")
        name = ref[1:] if ref.startswith("/") else ref
        try:
            target = os.readlink(os.path.join(self.names_dir, name))
            if os.path.isdir(os.path.join(self.containers_dir, target)):
                return target
        except (FileNotFoundError, OSError):
            pass
        if len(ref) == 64 and os.path.isdir(os.path.join(self.containers_dir, ref)):
            return ref
        matches = [i for i in self._ids() if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"container {ref}: ambiguous id prefix, matches {len(matches)} containers")
        raise NotFound(f"no such container: {ref}")

    def record(self, cid: str) -> ContainerRecord:
        try:
            return self._files.load(self.paths(cid).record, ContainerRecord.from_json)
        except FileNotFoundError:
            raise NotFound(f"no such container: {cid}") from None

    def info(self, cid: str) -> ContainerInfo:
        rec = self.record(cid)
        d = self.paths(cid).dir
        try:
            st: State | None = self._files.load(state.path(d), State.from_json)
        except FileNotFoundError:
            st = None
        if st is not None:
            seen = state.observe(st)
            if seen.status is not st.status:
                # Nobody recorded this exit (the monitor died, or the host
                # rebooted): record it now, once, so times stay put.
                st = self._record_observed(d, seen)
            else:
                st = seen
        return ContainerInfo(rec, st, ContainerStatus.of(st))

    @staticmethod
    def _record_observed(d: str, seen: State) -> State:
        with state.lock(d):
            cur = state.load(d)
            if cur is None:
                return seen
            again = state.observe(cur)
            if again.status is not cur.status:
                state.save(d, again)
            return again

    def get(self, ref: str) -> ContainerInfo:
        return self.info(self.resolve(ref))

    def containers(self, all: bool = True) -> list[ContainerInfo]:
        out = []
        for cid in self._ids():
            try:
                info = self.info(cid)
            except (NotFound, ValueError, KeyError):
                continue  # being created or removed right now
            if all or info.status.is_up():
                out.append(info)
        out.sort(key=lambda i: i.record.created_ns, reverse=True)
        return out

    # ---- creating ---------------------------------------------------------------

    def _reserve_name(self, name: str, cid: str) -> None:
        link = os.path.join(self.names_dir, name)
        for _ in range(3):
            try:
                os.symlink(cid, link)
                return
            except FileExistsError:
                owner = os.readlink(link)
                if os.path.isdir(os.path.join(self.containers_dir, owner)):
                    raise Conflict(f'container name "/{name}" is already in use by container "{owner}": '
                                   "remove or rename that container to reuse the name") from None
                try:  # a name left by a crashed removal: reclaim it
                    os.unlink(link)
                except FileNotFoundError:
                    pass
        raise Conflict(f'container name "/{name}": could not be reserved')

    def _release_name(self, name: str, cid: str) -> None:
        link = os.path.join(self.names_dir, name)
        try:
            if os.readlink(link) == cid:
                os.unlink(link)
        except FileNotFoundError:
            pass

    def _pick_name(self, cid: str) -> str:
        for _ in range(20):
            name = namegen.generate()
            try:
                self._reserve_name(name, cid)
                return name
            except Conflict:
                continue
        name = f"{namegen.generate()}_{cid[:6]}"
        self._reserve_name(name, cid)
        return name

    def create(self, opts: RunOptions) -> ContainerRecord:
        """``docker create``: the container's files and configuration; nothing runs yet."""
        self.setup()
        image = self.images.find(opts.image)
        if image is None:
            raise NotFound(f"image {opts.image}: not found in the store (pull or build it first)")
        if opts.host.init and not os.path.exists(specgen.INIT_BINARY):
            raise InvalidArgument(f"--init: {specgen.INIT_BINARY} is not installed (apt-get install tini)")
        mounts_.check_sources(opts.host.mounts)
        networking.check_host(opts.host, self.root)
        cid = secrets.token_hex(32)
        if opts.name is not None:
            name = check_name(opts.name)
            self._reserve_name(name, cid)
        else:
            name = self._pick_name(cid)
        paths = self.paths(cid)
        new_volumes: list[str] = []
        try:
            cfg = specgen.container_config(opts, image, cid, os.environ)
            host, cfg = mounts_.for_create(opts.host, cfg)
            rec = ContainerRecord(cid, name, time.time_ns(), image.id, image.diff_ids, cfg, host)
            self._make_dirs(paths, rec, image)
            if any(m.type == "volume" for m in host.mounts):
                # Held until the record names the volumes: `volume rm` cannot slip in between.
                with self.volume_store.lock(shared=True):
                    mounts_.create_volumes(self.volume_store, host, new_volumes)
                    fsutil.write_json(paths.record, rec.to_json())
            else:
                fsutil.write_json(paths.record, rec.to_json())
        except BaseException:
            fsutil.remove_tree(paths.dir)
            self._release_name(name, cid)
            for v in new_volumes:
                try:
                    self.volume_store.remove(v)
                except NotFound:
                    pass
            raise
        return rec

    def _make_dirs(self, paths: ContainerPaths, rec: ContainerRecord, image: Image) -> None:
        os.mkdir(paths.dir, 0o700)
        for d in (paths.upper, paths.work, paths.merged, paths.init):
            os.mkdir(d, 0o755)
        # The init layer: mount points for what the runtime mounts, so that
        # images without them (FROM scratch) need no copy-up into the upper layer.
        for d in specgen.INIT_LAYER_DIRS:
            os.makedirs(os.path.join(paths.init, d), 0o755, exist_ok=True)
        for f in specgen.INIT_LAYER_FILES:
            open(os.path.join(paths.init, f), "w").close()
        os.symlink("/proc/mounts", os.path.join(paths.init, "etc", "mtab"))
        for layer in image.layers:
            if not self.images.has_layer(layer.diff_id):
                self.images.extract_layer(layer)
        self._write_network_files(paths, rec)

    def _write_network_files(self, paths: ContainerPaths, rec: ContainerRecord, ip: str | None = None) -> None:
        fsutil.atomic_write(paths.hostname, (rec.config.hostname + "\n").encode(), sync=False)
        fsutil.atomic_write(paths.hosts, specgen.hosts_file(rec.config.hostname, ip).encode(), sync=False)
        fsutil.atomic_write(paths.resolv, resolv_conf(rec.host.dns).encode(), sync=False)

    # ---- starting ---------------------------------------------------------------

    def start(self, ref: str, *, attach: dict[str, Any] | None = None,
              console_size: tuple[int, int] | None = None) -> control.Connection:
        """Start a created or exited container; returns the connection to its monitor.

        The work happens in a monitor forked from the fork server
        (:mod:`runtime.engine.worker`). With ``attach`` the connection is
        attached from the first byte of output; the caller relays it (or
        closes it to detach).
        """
        conn, _ = client.start(ref, root=self.root, parent=self.cgroup_parent, attach=attach,
                               console_size=console_size)
        return conn

    def run(self, opts: RunOptions, *, attach: dict[str, Any] | None = None,
            console_size: tuple[int, int] | None = None) -> tuple[str, control.Connection]:
        """``docker run``: create, then start (attached if asked); returns the id and the connection."""
        conn, reply = client.run(opts.to_json(), root=self.root, parent=self.cgroup_parent, attach=attach,
                                 console_size=console_size)
        return str(reply["id"]), conn

    def attach(self, ref: str, stdin: bool = True) -> tuple[ContainerInfo, control.Connection]:
        info = self.get(ref)
        if info.status is not ContainerStatus.RUNNING:
            raise Conflict(f"container {info.record.short_id}: cannot attach to a container that is {info.status.value}")
        conn = control.Connection.open(self.paths(info.id).dir, timeout=None)
        conn.call("attach", stdin=stdin and info.record.config.open_stdin)
        return info, conn

    # ---- stopping and removing -------------------------------------------------------

    def stop(self, ref: str, timeout: float | None = None, sig: str | int | None = None) -> ContainerInfo:
        from .. import signals

        cid = self.resolve(ref)
        info = self.info(cid)
        if not info.status.is_up():
            return info
        t = timeout if timeout is not None else (info.record.config.stop_timeout if info.record.config.stop_timeout is not None else 10)
        s = signals.parse(sig if sig is not None else info.record.config.stop_signal)
        runtime.stop(self.paths(cid).dir, s, float(t))
        return self.info(cid)

    def kill(self, ref: str, sig: str | int = "SIGKILL") -> None:
        from .. import signals

        cid = self.resolve(ref)
        info = self.info(cid)
        if not info.status.is_up():
            raise Conflict(f"container {info.record.short_id}: is not running")
        runtime.kill(self.paths(cid).dir, signals.parse(sig))

    def wait(self, ref: str) -> ContainerInfo:
        cid = self.resolve(ref)
        runtime.wait(self.paths(cid).dir)
        return self.info(cid)

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> str:
        cid = self.resolve(ref)
        paths = self.paths(cid)
        with fsutil.locked(os.path.join(paths.dir, "engine.lock")):
            info = self.info(cid)
            if info.status.is_up() and not force:
                raise Conflict(f"container {info.record.short_id}: cannot remove a {info.status.value} container "
                               "(stop it first, or use --force)")
            if info.state is not None and info.state.status is not Status.STOPPED:
                runtime.delete(paths.dir, force=True, remove_dir=False)
            elif info.state is not None:
                # Exited, but its monitor may still be finishing (writing the
                # state, the log): let it, before the files go.
                runtime.wait_monitor(paths.dir)
                runtime.cleanup(info.state)
        self._remove_files(cid, info.record.name)
        if volumes:
            volumes_.remove_anonymous(self, info.record)
        self._release_layers(info.record)
        return cid

    def _release_layers(self, rec: ContainerRecord) -> None:
        """Layers kept only for this container (its image went with ``rmi -f``) go with it."""
        if rec.layers and self.images.find(rec.image_id) is None:
            self.images.gc(keep_layers={d for c in self.containers() for d in c.record.layers})

    def remove_after_exit(self, cid: str) -> None:
        """``--rm``: called by the container's own monitor once it has exited."""
        st = state.load(self.paths(cid).dir)
        if st is not None:
            runtime.cleanup(st)
        try:
            rec: ContainerRecord | None = self.record(cid)
        except NotFound:
            rec = None
        self._remove_files(cid)
        if rec is not None:  # docker's --rm takes the anonymous volumes along
            volumes_.remove_anonymous(self, rec)

    def _remove_files(self, cid: str, name: str | None = None) -> None:
        paths = self.paths(cid)
        if name is None:
            try:
                name = self.record(cid).name
            except NotFound:
                name = None
        networking.release(self, cid)  # what a killed monitor could not release: its lease and ports
        fsutil.remove_tree(paths.dir)
        if name:
            self._release_name(name, cid)

    def restart(self, ref: str, timeout: float | None = None) -> None:
        self.stop(ref, timeout)
        self.start(ref).close()

    def pause(self, ref: str) -> None:
        cid = self.resolve(ref)
        info = self.info(cid)
        if info.status is ContainerStatus.PAUSED:
            raise Conflict(f"container {info.record.short_id}: is already paused")
        if info.status is not ContainerStatus.RUNNING:
            raise Conflict(f"container {info.record.short_id}: is not running")
        runtime.pause(self.paths(cid).dir, True)

    def unpause(self, ref: str) -> None:
        cid = self.resolve(ref)
        info = self.info(cid)
        if info.status is not ContainerStatus.PAUSED:
            raise Conflict(f"container {info.record.short_id}: is not paused")
        runtime.pause(self.paths(cid).dir, False)

    def rename(self, ref: str, new_name: str) -> None:
        cid = self.resolve(ref)
        new = check_name(new_name)
        paths = self.paths(cid)
        with fsutil.locked(os.path.join(paths.dir, "engine.lock")):
            rec = self.record(cid)
            if rec.name == new:
                raise Conflict(f'container {rec.short_id}: is already named "{new}"')
            self._reserve_name(new, cid)
            fsutil.write_json(paths.record, dataclasses.replace(rec, name=new).to_json())
            self._release_name(rec.name, cid)

    def prune(self) -> list[tuple[str, int]]:
        """Remove every stopped container; returns (id, bytes reclaimed) for each."""
        out = []
        for info in self.containers():
            if info.status.is_up():
                continue
            size = dir_size(self.paths(info.id).upper)
            try:
                self.remove(info.id)
            except (Conflict, NotFound):
                continue
            out.append((info.id, size))
        return out

    def log_path(self, ref: str) -> str:
        return self.paths(self.resolve(ref)).log

    # ---- looking inside ---------------------------------------------------------------

    def processes(self, ref: str) -> list[processes.Process]:
        """The container's processes, with host and container pids (``top``)."""
        info = self.get(ref)
        if not info.status.is_up() or info.state is None or not info.state.cgroup:
            raise Conflict(f"container {info.record.short_id}: is not running")
        from .. import cgroups

        return processes.list_processes(cgroups.open_cgroup(info.state.cgroup).pids())

    def stats(self, refs: Sequence[str] | None = None, *, infos: Sequence[ContainerInfo] | None = None,
              interval: float = 0.0) -> list[ContainerStats]:
        """Resource use of running containers (all of them, or those named), read in one batch.

        Returns :class:`runtime.cgroups.stats.ContainerStats`, in the order
        given; containers that are not running are left out. CPU % needs two
        readings: the engine keeps each container's previous one, so calling
        this about once a second gives docker's figures, and with
        ``interval`` it reads, sleeps that long and reads again. ``infos``
        (containers already listed, as the TUI has them) spares listing them.
        Safe to call from a worker thread; concurrent calls run one at a time.
        """
        from ..cgroups import stats

        if infos is None:
            infos = [self.get(r) for r in refs] if refs is not None else self.containers(all=False)
        targets = [stats.Target(i.id, i.name, i.state.cgroup, i.pid, i.record.host.network != "host")
                   for i in infos
                   if i.state is not None and i.state.cgroup
                   and i.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED)]
        with self._stats_lock:
            if self._sampler is None:
                self._sampler = stats.Sampler()
            if interval > 0:
                self._sampler.sample(targets)
                time.sleep(interval)
            return list(self._sampler.sample(targets))

    def update(self, ref: str, change: Resources, restart: RestartPolicy | None = None) -> ContainerRecord:
        """``docker update``: new limits (and restart policy) for a container.

        A running container's cgroup is written at once; the record (and the
        bundle the monitor restarts from) keep them for every later start.
        Fields of ``change`` left ``None`` stay as they are.
        """
        from .. import cgroups
        from . import limits

        cid = self.resolve(ref)
        paths = self.paths(cid)
        with fsutil.locked(os.path.join(paths.dir, "engine.lock")):
            info = self.info(cid)
            rec = info.record
            merged = limits.updated(rec.host.resources, change, rec.short_id)
            host = dataclasses.replace(rec.host, resources=merged)
            if restart is not None:
                if rec.host.auto_remove and restart.name != "no":
                    raise Conflict(f"container {rec.short_id}: restart policy cannot be updated because "
                                   "AutoRemove is enabled for the container")
                host = dataclasses.replace(host, restart=restart)
            st = info.state
            if info.status.is_up() and st is not None and st.cgroup:
                cg = cgroups.open_cgroup(st.cgroup)
                if cg.exists():
                    try:
                        cg.apply(limits.cgroup_changes(merged, change))
                    except TuidockError as e:
                        raise type(e)(f"container {rec.short_id}: cannot update: {e}") from None
            new = dataclasses.replace(rec, host=host)
            fsutil.write_json(paths.record, new.to_json())
            self._update_bundle(paths, merged)
        return new

    @staticmethod
    def _update_bundle(paths: ContainerPaths, res: Resources) -> None:
        """The monitor restarts a container (--restart) from its bundle: give it the new limits too."""
        try:
            spec = fsutil.read_json(paths.config)
        except FileNotFoundError:
            return  # never started: the bundle is made from the record at start
        linux = spec.setdefault("linux", {})
        old = linux.get("resources") or {}
        linux["resources"] = {**res.to_oci(), **({"devices": old["devices"]} if "devices" in old else {})}
        fsutil.write_json(paths.config, spec, sync=False)

    def changes(self, ref: str) -> list[changes_.Change]:
        """What the container changed against its image (``diff``), from its upper layer."""
        info = self.get(ref)
        paths = self.paths(info.id)
        ignore = frozenset(m.destination for m in self._mounts(info))
        return changes_.changes(paths.upper, inspect_.layer_dirs(info, paths, self.images), ignore)

    def _mounts(self, info: ContainerInfo) -> list[Any]:
        from ..oci import spec as ocispec

        try:
            return list(ocispec.load(self.paths(info.id).config).mounts)
        except InvalidArgument:
            return []

    def inspect_container(self, ref: str) -> dict[str, Any]:
        info = self.get(ref)
        return inspect_.container(info, self.paths(info.id), self.images)

    def inspect_image(self, img: Image) -> dict[str, Any]:
        return inspect_.image(img, self.images)

    # ---- images: rmi, prune, commit, build, save, load, import (runtime/engine/imageops.py, ...) ----

    def image_summaries(self) -> list[Summary]:
        """Every image, newest first, with its tags, size, parent, children and the containers using it."""
        from . import imageops

        return imageops.summaries(self)

    def image_history(self, name: str) -> list[HistoryRow]:
        """``docker history``: one row per step, newest first."""
        from . import imageops

        return imageops.history(self, self.images.get(name))

    def image_layers(self, name: str) -> ImageLayers:
        """Each layer of an image (bottom first) with its instruction and the files it adds, changes and
        deletes, and the bytes later layers waste by overwriting or deleting files of earlier ones."""
        from . import imagelayers

        return imagelayers.analyze(self.images, self.images.get(name))

    def image_tree(self, name: str, upto: int | None = None) -> tuple[FileEntry, ...]:
        """The image's files with layers ``0..upto`` stacked (all by default), each naming its layer."""
        from . import imagelayers

        return imagelayers.tree(self.images, self.images.get(name), upto)

    def remove_images(self, names: list[str], force: bool = False, prune: bool = True) -> tuple[list[Deleted], list[str]]:
        """``docker rmi``: the Untagged/Deleted records, and an error line for each name that failed."""
        from . import imageops

        return imageops.remove(self, names, force, prune)

    def prune_images(self, all_images: bool = False) -> tuple[list[Deleted], int]:
        """``docker image prune [-a]``: the Untagged/Deleted records and the bytes freed."""
        from . import imageops

        return imageops.prune(self, all_images)

    def commit(self, ref: str, repo_tag: str | None = None, *, message: str = "", author: str = "",
               changes: list[str] | None = None, pause: bool = True) -> Image:
        """``docker commit``: the container's upper layer as a new layer on its image's (paused while read)."""
        from . import commit as commit_

        return commit_.commit(self, ref, repo_tag, message, author, changes, pause)

    def build(self, opts: BuildOptions, progress: Callable[[BuildEvent], None] | None = None, *,
              cancel: Cancel | None = None) -> BuildResult:
        """``docker build``; ``progress`` receives every step's events on the calling thread. ``cancel.set()``
        from another thread stops it at the next instruction or during a RUN (its container removed) and it
        raises ``Cancelled``; the steps already done stay as cache."""
        from . import build as build_

        return build_.build(self, opts, progress, cancel)

    def save_images(self, names: list[str], out: IO[bytes]) -> list[Image]:
        """``docker save``: a docker-archive tar of the images, written to ``out``."""
        from ..images import archive

        return archive.save(self.images, names, out)

    def load_images(self, src: IO[bytes], limits: Limits | None = None) -> list[Loaded]:
        """``docker load``: a docker-archive or OCI layout archive; all or nothing."""
        from ..images import archive
        from ..images.layers import Limits

        self.setup()
        return archive.load(self.images, src, limits or Limits())

    def import_image(self, src: IO[bytes], tags: list[str], *, changes: list[str] | None = None, message: str = "",
                     source: str = "-", limits: Limits | None = None) -> Image:
        """``docker import``: a root file system tarball as a one-layer image."""
        from ..images import archive
        from ..images.layers import Limits

        self.setup()
        return archive.import_rootfs(self.images, src, tags, changes or [], message, source, limits or Limits())

    # ---- volumes (runtime/engine/volumes.py) ----------------------------------------------

    def volumes(self) -> list[volumes_.Volume]:
        return self.volume_store.list()

    def volume(self, name: str) -> volumes_.Volume:
        return self.volume_store.get(name)

    def volume_create(self, name: str | None = None, labels: dict[str, str] | None = None) -> volumes_.Volume:
        """``docker volume create``: a new volume, or the existing one of that name; anonymous without a name."""
        self.setup()
        return self.volume_store.create(name, labels)[0]

    def volume_inspect(self, name: str) -> dict[str, Any]:
        return self.volume_store.get(name).to_docker()

    def volume_usage(self, sizes: bool = True) -> list[volumes_.VolumeUsage]:
        """Every volume with the containers that mount it and (``sizes``, a walk of each) its size."""
        return volumes_.usage(self, sizes)

    def volume_users(self, name: str) -> tuple[volumes_.VolumeUser, ...]:
        """The containers, running or not, that mount the volume, and where."""
        return volumes_.users(self, name)

    def volume_size(self, name: str) -> int:
        return self.volume_store.size(name)

    def volume_files(self, name: str, path: str = "") -> tuple[volumes_.VolumeFile, ...]:
        """A directory of the volume, ``path`` resolved with the volume as its root (symlinks stay inside)."""
        return self.volume_store.files(name, path)

    def volume_read(self, name: str, path: str, limit: int = 64 << 10) -> tuple[bytes, int]:
        """The first ``limit`` bytes of a regular file in the volume, and its size."""
        return self.volume_store.read(name, path, limit)

    def volume_remove(self, name: str, force: bool = False) -> bool:
        """``docker volume rm``: raises VolumeInUse (a Conflict naming the containers) while any container
        uses it; ``force`` ignores only a missing one. False when ``force`` found nothing to remove."""
        return volumes_.remove(self, name, force)

    def volume_prune(self, all: bool = False, labels: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        """Unused anonymous volumes (every unused one with ``all``); returns (name, bytes) removed.

        ``labels`` are docker's filters: ``KEY``, ``KEY=VALUE``, and ``!KEY``, ``!KEY=VALUE`` for label!=.
        """
        return volumes_.prune(self, all, labels)

    # ---- registries (runtime/images/distribution.py) ------------------------------------

    def pull(self, name: str, *, platform: str | None = None, tls_verify: bool | None = None,
             progress: ProgressCallback | None = None, cancel: Cancel | None = None) -> PullResult:
        """``docker pull``. ``progress`` gets typed events (``LayerEvent``, ``StatusEvent``) on the calling
        thread. ``cancel.set()`` from another thread (a ``distribution.Cancel``) makes the pull raise
        ``Cancelled`` promptly, even mid-read; it, or an exception raised by ``progress``, leaves the store
        as it was. ``tls_verify`` None follows the insecure-registry settings."""
        from ..images import distribution
        from ..images.manifests import Platform

        self.setup()
        return distribution.pull(self.images, name, platform=Platform.parse(platform) if platform else None,
                                 tls_verify=tls_verify, progress=progress, cancel=cancel)

    def push(self, name: str, *, tls_verify: bool | None = None,
             progress: ProgressCallback | None = None, cancel: Cancel | None = None) -> PushResult:
        """``docker push``: the image tagged ``name`` to its registry (``progress`` and ``cancel`` as for pull)."""
        from ..images import distribution

        self.setup()
        return distribution.push(self.images, name, tls_verify=tls_verify, progress=progress, cancel=cancel)

    def login(self, server: str, username: str, password: str, *, tls_verify: bool | None = None) -> None:
        """``docker login``: check the credentials with the registry, then keep them in docker's config.json."""
        from ..images import regconfig
        from ..images.registry import Registry

        domain = regconfig.normalise_key(server)
        creds = regconfig.Credentials(username, password)
        Registry.from_config(domain, tls_verify=tls_verify, credentials=creds).check_login()
        regconfig.store_credentials(domain, creds, regconfig.docker_config_path())

    def logout(self, server: str) -> bool:
        """``docker logout``: forget a registry's credentials; False when there were none."""
        from ..images import regconfig

        return regconfig.remove_credentials(regconfig.normalise_key(server), regconfig.docker_config_path())

    # ---- housekeeping -------------------------------------------------------------

    @property
    def networks(self) -> networking.Networks:
        """``network ls|inspect|create|rm|prune`` (the default network from this process's environment)."""
        return networking.Networks(self.root)

    def published_ports(self, info: ContainerInfo) -> tuple[PortBinding, ...]:
        """The container's published ports with the host ports really bound (``ps``, ``port``); empty unless running."""
        return networking.published(info, self.paths(info.id).dir)

    def endpoint(self, info: ContainerInfo) -> Endpoint | None:
        """The container's network, address, gateway, MAC, host veth and published ports while it is up.

        None when it is stopped or on ``host`` or ``none``. Reads one small
        file: cheap enough for every refresh of a container list.
        """
        return networking.endpoint(info, self.paths(info.id).dir)

    def network_infos(self) -> list[networking.NetworkInfo]:
        """Every network with the running containers on it (``network ls``; the TUI's networks screen)."""
        return self.networks.infos(self.containers(all=False))

    def shutdown(self) -> None:
        """Stop this root's fork servers (tests; ``system prune``)."""
        launch.stop_servers(self.run_dir)


def dir_size(path: str) -> int:
    """Bytes used by the files under ``path`` (hard links counted once)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def resolv_conf(dns: tuple[str, ...] = (), host_file: str = "/etc/resolv.conf") -> str:
    """The host's resolv.conf (as docker copies it), or the ``--dns`` servers given."""
    if dns:
        return "".join(f"nameserver {d}\n" for d in dns)
    try:
        with open(host_file) as f:
            return f.read()
    except OSError:
        return ""


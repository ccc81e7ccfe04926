"""A container's mounts from its MountSpecs: checked at create, turned into OCI mounts at start, shown by inspect.

At create (:func:`check_sources`, :func:`for_create`, :func:`create_volumes`)
a bind's source must exist on the host; each anonymous volume gets its
random name, the image's ``VOLUME`` paths not covered by a mount get one
each (docker's behaviour); named volumes are created on first use. At every
start :func:`oci_mounts` makes the bundle's mounts: binds and volumes are
bind mounts (``rbind``, ``rprivate``), a tmpfs gets docker's ``noexec,nosuid,
nodev`` unless told otherwise. A volume mount without ``nocopy`` carries the
``copyup`` option, which :mod:`runtime.rootfs` understands (docker's copy of
the image's files into a new, empty volume; see :mod:`runtime.copyup` for
why it happens there).
"""

from __future__ import annotations

import dataclasses
import os

from ..errors import InvalidArgument, reason
from ..oci import spec as ocispec
from .model import Config, ContainerRecord, HostConfig, MountSpec
from .volumes import VolumeStore

# tmpfs options that only restate the kernel's default: mount(2) has no flag for them.
_DEFAULT_ONLY = ("nomand", "norelatime", "nostrictatime")


def check_sources(mounts: tuple[MountSpec, ...]) -> None:
    """A bind's source must exist (docker's --mount rule, here for -v too): one line naming the path."""
    for m in mounts:
        if m.type != "bind":
            continue
        try:
            os.stat(m.source)
        except FileNotFoundError:
            raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not exist: '
                                  f"{m.source}") from None
        except OSError as e:
            raise InvalidArgument(f'invalid mount config for type "bind": bind source path {m.source}: '
                                  f"{reason(e)}") from None


def for_create(host: HostConfig, cfg: Config) -> tuple[HostConfig, Config]:
    """Names for anonymous volumes, an anonymous volume for each uncovered image VOLUME, Config.Volumes."""
    import secrets

    mounts = []
    for m in host.mounts:
        if m.type == "volume" and m.anonymous and not m.source:
            m = dataclasses.replace(m, source=secrets.token_hex(32))
        mounts.append(m)
    covered = {m.target for m in mounts}
    for path in cfg.volumes:
        target = os.path.normpath(path) if path.startswith("/") else "/" + path
        if target not in covered:
            covered.add(target)
            mounts.append(MountSpec("volume", target, secrets.token_hex(32), anonymous=True, flag="image"))
    # docker lists -v /path (and the image's VOLUMEs) in Config.Volumes.
    volumes = sorted(set(cfg.volumes) | {m.target for m in mounts if m.anonymous and m.flag == ""})
    return dataclasses.replace(host, mounts=tuple(mounts)), dataclasses.replace(cfg, volumes=tuple(volumes))


def create_volumes(store: VolumeStore, host: HostConfig, created: list[str] | None = None) -> list[str]:
    """Create the volumes the mounts name that do not exist yet; returns (and appends to
    ``created``, so that a failure half-way leaves the caller knowing) the names created.

    The caller holds the store's lock (shared) until the container's record is written.
    """
    created = [] if created is None else created
    for m in host.mounts:
        if m.type != "volume":
            continue
        labels = {k: v for k, _, v in (o[6:].partition("=") for o in m.options if o.startswith("label="))}
        if m.anonymous:
            from .volumes import ANONYMOUS_LABEL

            labels[ANONYMOUS_LABEL] = ""
        _, new = store.create(m.source, labels)
        if new:
            created.append(m.source)
    return created


def oci_mounts(store: VolumeStore, rec: ContainerRecord) -> tuple[ocispec.Mount, ...]:
    """The bundle's mounts for the container's MountSpecs; named volumes are created on first use."""
    host = rec.host
    if any(m.type == "volume" for m in host.mounts):
        with store.lock(shared=True):
            create_volumes(store, host)
    out = []
    for m in host.mounts:
        ro = ("ro",) if m.read_only else ()
        if m.type == "bind":
            prop = tuple(o for o in m.options if o in ("private", "rprivate", "shared", "rshared", "slave", "rslave"))
            rec_opt = "bind" if "nonrecursive" in m.options else "rbind"
            out.append(ocispec.Mount(m.target, "bind", m.source, (rec_opt,) + (prop or ("rprivate",)) + ro))
        elif m.type == "volume":
            copy = () if "nocopy" in m.options else ("copyup",)
            out.append(ocispec.Mount(m.target, "bind", store.data_path(m.source), ("rbind", "rprivate") + ro + copy))
        elif m.type == "tmpfs":
            opts = tuple(o for o in m.options if o not in _DEFAULT_ONLY and o not in ("ro", "rw"))
            out.append(ocispec.Mount(m.target, "tmpfs", "tmpfs", ("noexec", "nosuid", "nodev") + opts + ro))
    return tuple(out)


def inspect_entries(store: VolumeStore, host: HostConfig) -> list[dict[str, object]]:
    """``Mounts`` in ``docker inspect``: every bind and volume, and the tmpfs given with --mount."""
    out: list[dict[str, object]] = []
    for m in host.mounts:
        if m.type == "bind":
            prop = next((o for o in m.options if o in ("private", "rprivate", "shared", "rshared", "slave",
                                                        "rslave")), "rprivate")
            out.append({"Type": "bind", "Source": m.source, "Destination": m.target, "Mode": m.mode,
                        "RW": not m.read_only, "Propagation": prop})
        elif m.type == "volume":
            # docker sets Mode "z" on a local volume given with -v and no mode (setBindModeIfNull).
            mode = m.mode or ("z" if m.flag == "" and not m.anonymous else "")
            out.append({"Type": "volume", "Name": m.source, "Source": store.data_path(m.source),
                        "Destination": m.target, "Driver": "local", "Mode": mode, "RW": not m.read_only,
                        "Propagation": ""})
        elif m.type == "tmpfs" and m.flag == "mount":
            out.append({"Type": "tmpfs", "Source": "", "Destination": m.target, "Mode": "", "RW": not m.read_only,
                        "Propagation": ""})
    return out

"""``run`` flags for volumes, bind mounts and tmpfs: ``-v``, ``--mount``, ``--tmpfs``, with docker's parsing rules.

``-v SRC:DST[:MODE]`` is a bind when SRC is an absolute path and a named
volume otherwise; ``-v DST`` alone is an anonymous volume. MODE is a comma
list with at most one of each kind: ``ro``/``rw``, ``z``/``Z`` (SELinux
labels, accepted and ignored: there is no SELinux here), a propagation mode,
``nocopy``, and a consistency (``cached``... ignored on Linux, as in docker).
``--mount`` is docker's CSV of ``key=value`` fields; ``--tmpfs DST[:OPTS]``
takes mount(8) options for tmpfs. The messages are docker's.

The parsers are plain functions (unit-tested); the module imports nothing
at import time, because the thin ``run`` client imports it for the table.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..model import HostConfig, MountSpec

FLAGS: list[tuple[str, str, str, str]] = [
    ("-v, --volume", "volume", "list",
     "Bind mount a volume (NAME:/path, /host/path:/path or /path; modes ro, rw, nocopy, z)"),
    ("--mount", "mount", "list",
     "Attach a filesystem mount (type=bind|volume|tmpfs,source=,target=,readonly,volume-nocopy,tmpfs-size=,...)"),
    ("--tmpfs", "tmpfs", "list", "Mount a tmpfs directory (/path[:options])"),
]
DEFAULTS: dict[str, Any] = {}
CLIENT_PATHS: tuple[str, ...] = ("volume", "mount")

PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
CONSISTENCIES = ("consistent", "cached", "delegated")
# mount(8) flags tmpfs takes, and its data options (docker's MergeTmpfsOptions).
TMPFS_FLAGS = ("ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev", "sync", "async", "dirsync",
               "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime",
               "strictatime", "nostrictatime", "defaults") + PROPAGATIONS
TMPFS_DATA = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")


def _invalid(msg: str) -> Exception:
    from ...errors import InvalidArgument

    return InvalidArgument(msg)


def clean_path(p: str) -> str:
    """Go's filepath.Clean for absolute paths (``/data/`` -> ``/data``, ``//x/../y`` -> ``/y``)."""
    import posixpath

    if not p.startswith("/"):
        return posixpath.normpath(p) if p else p
    return "/" + posixpath.normpath(p).lstrip("/")


def _mode_kinds(mode: str) -> dict[str, list[str]] | None:
    """The parts of a -v mode by kind, or None if a part is unknown or a kind repeats."""
    kinds: dict[str, list[str]] = {}
    for o in mode.split(","):
        if o in ("rw", "ro"):
            kind = "rw"
        elif o in ("z", "Z"):
            kind = "label"
        elif o in PROPAGATIONS:
            kind = "propagation"
        elif o == "nocopy":
            kind = "copy"
        elif o in CONSISTENCIES:
            kind = "consistency"
        else:
            return None
        kinds.setdefault(kind, []).append(o)
    if any(len(v) > 1 for v in kinds.values()):
        return None
    return kinds


def _check_target(kind: str, target: str) -> str:
    if not target.startswith("/"):
        raise _invalid(f'invalid mount config for type "{kind}": invalid mount path: \'{target}\' '
                       "mount path must be absolute")
    target = clean_path(target)
    if target == "/":
        raise _invalid(f'invalid mount config for type "{kind}": invalid specification: destination can\'t be \'/\'')
    return target


def parse_volume(raw: str) -> MountSpec:
    """``-v``: docker's Linux parser (volume/mounts/linux_parser.go)."""
    from ..model import MountSpec

    spec_error = f"invalid volume specification: '{raw}'"
    if raw.count(":") > 2 or not raw.split(":", 1)[0]:
        raise _invalid(spec_error)
    arr = raw.split(":")
    source, mode = "", ""
    if len(arr) == 1:
        target = arr[0]
    elif len(arr) == 2:
        if _mode_kinds(arr[1]) is not None:
            raise _invalid(spec_error)  # /foo:rw names a mode but no source
        source, target = arr
    else:
        source, target, mode = arr
    kinds = _mode_kinds(mode) if mode else {}
    if kinds is None:
        raise _invalid(f"invalid mode: {mode}")
    kind = "bind" if source.startswith("/") else "volume"
    try:
        target = _check_target(kind, target)
        if kind == "bind" and "copy" in kinds:
            raise _invalid('invalid mount config for type "bind": field VolumeOptions must not be specified')
        if kind == "volume" and "propagation" in kinds:
            raise _invalid('invalid mount config for type "volume": field BindOptions must not be specified')
    except Exception as e:
        raise _invalid(f"{spec_error}: {e}") from None
    if kind == "volume" and source:
        from ..volumes import check_name

        check_name(source)
    options: tuple[str, ...] = ()
    if kind == "bind":
        options = (kinds.get("propagation") or ["rprivate"])[0],
        source = clean_path(source)
    elif "copy" in kinds:
        options = ("nocopy",)
    return MountSpec(kind, target, source, read_only="ro" in kinds.get("rw", []), options=options,
                     anonymous=kind == "volume" and not source, mode=mode)


def _parse_bool(key: str, value: str) -> bool:
    # Go's strconv.ParseBool
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise _invalid(f"invalid value for {key}: {value}")


def ram_in_bytes(value: str) -> int:
    """docker's units.RAMInBytes: ``64m``, ``1.5g``, ``512KiB``, ``1024`` (binary multiples)."""
    import re

    m = re.fullmatch(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?", value)
    if not m:
        raise ValueError(value)
    mult = 1024 ** (" kmgtp".index(m.group(2).lower()) if m.group(2) else 0)
    return int(float(m.group(1)) * mult)


def parse_mount(raw: str) -> MountSpec:
    """``--mount``: docker's CSV fields (cli/opts/mount.go), then the daemon's checks."""
    import csv

    from ..model import MountSpec

    def bad(msg: str) -> Exception:
        return _invalid(f'invalid argument "{raw}" for "--mount" flag: {msg}')

    try:
        fields = next(csv.reader([raw]))
    except (csv.Error, StopIteration):
        raise bad("invalid CSV") from None
    kind, source, target, ro = "volume", "", "", False
    volume_opts: list[str] = []
    bind_opts: list[str] = []
    tmpfs_opts: list[str] = []
    for fld in fields:
        key, eq, val = fld.partition("=")
        key = key.lower()
        try:
            if not eq:
                if key in ("readonly", "ro"):
                    ro = True
                elif key == "volume-nocopy":
                    volume_opts.append("nocopy")
                elif key == "bind-nonrecursive":
                    bind_opts.append("nonrecursive")
                else:
                    raise bad(f"invalid field '{fld}' must be a key=value pair")
                continue
            if key == "type":
                kind = val.lower()
            elif key in ("source", "src"):
                source = val
            elif key in ("target", "dst", "destination"):
                target = val
            elif key in ("readonly", "ro"):
                ro = _parse_bool(key, val)
            elif key == "consistency":
                if val.lower() not in CONSISTENCIES + ("default",):
                    raise bad(f"invalid value for {key}: {val}")
            elif key == "bind-propagation":
                if val.lower() not in PROPAGATIONS:
                    raise bad(f"invalid value for {key}: {val}")
                bind_opts.append(val.lower())
            elif key == "bind-nonrecursive":
                if _parse_bool(key, val):
                    bind_opts.append("nonrecursive")
                else:
                    bind_opts.append("recursive")
            elif key == "volume-nocopy":
                volume_opts.append("nocopy" if _parse_bool(key, val) else "copy")
            elif key == "volume-label":
                volume_opts.append(f"label={val}")
            elif key == "volume-driver":
                if val != "local":
                    raise bad(f"volume driver {val!r} is not available (only \"local\")")
                volume_opts.append("driver=local")
            elif key == "volume-opt":
                raise bad("volume-opt: the local driver takes no options here")
            elif key == "tmpfs-size":
                try:
                    tmpfs_opts.append(f"size={ram_in_bytes(val)}")
                except ValueError:
                    raise bad(f"invalid value for {key}: {val}") from None
            elif key == "tmpfs-mode":
                try:
                    tmpfs_opts.append(f"mode={int(val, 8):o}")
                except ValueError:
                    raise bad(f"invalid value for {key}: {val}") from None
            else:
                raise bad(f"unexpected key '{key}' in '{fld}'")
        except Exception as e:
            if str(e).startswith("invalid argument"):
                raise
            raise bad(str(e)) from None
    if not kind:
        raise bad("type is required")
    if not target:
        raise bad("target is required")
    for opts, prefix, owner in ((volume_opts, "volume", "volume"), (bind_opts, "bind", "bind"),
                                (tmpfs_opts, "tmpfs", "tmpfs")):
        if opts and kind != owner:
            raise bad(f"cannot mix '{prefix}-*' options with mount type '{kind}'")
    if kind not in ("bind", "volume", "tmpfs"):
        raise _invalid(f'invalid mount config for type "{kind}": mount type unknown')
    target = _check_target(kind, target)
    options: tuple[str, ...] = ()
    if kind == "bind":
        if not source:
            raise _invalid('invalid mount config for type "bind": field Source must not be empty')
        if not source.startswith("/"):
            raise _invalid(f'invalid mount config for type "bind": invalid mount path: \'{source}\' '
                           "mount path must be absolute")
        source = clean_path(source)
        prop = [o for o in bind_opts if o in PROPAGATIONS]
        options = (prop[-1] if prop else "rprivate",) + (("nonrecursive",) if bind_opts.count("nonrecursive")
                                                            > bind_opts.count("recursive") else ())
    elif kind == "volume":
        if source:
            from ..volumes import check_name

            check_name(source)
        nocopy = volume_opts.count("nocopy") > volume_opts.count("copy")
        options = (("nocopy",) if nocopy else ()) + tuple(o for o in volume_opts if o.startswith("label="))
    else:
        if source:
            raise _invalid('invalid mount config for type "tmpfs": field Source must not be specified')
        options = tuple(tmpfs_opts)
    return MountSpec(kind, target, source, read_only=ro, options=options,
                     anonymous=kind == "volume" and not source, flag="mount")


def parse_tmpfs(raw: str) -> MountSpec:
    """``--tmpfs DST[:OPTS]`` (docker validates OPTS as MergeTmpfsOptions does)."""
    from ..model import MountSpec

    target, _, opts = raw.partition(":")
    target = _check_target("tmpfs", target)
    options = tuple(o for o in opts.split(",") if o) if opts else ()
    for o in options:
        key, eq, _ = o.partition("=")
        if (eq and key not in TMPFS_DATA) or (not eq and o not in TMPFS_FLAGS):
            raise _invalid(f"invalid tmpfs option \"{o}\" for {target}")
    read_only = False
    for o in options:  # the last of ro and rw wins, as in mount(8)
        read_only = True if o == "ro" else False if o == "rw" else read_only
    return MountSpec("tmpfs", target, read_only=read_only, options=options)


def parse_all(volumes: list[str], mounts: list[str], tmpfs: list[str]) -> tuple[MountSpec, ...]:
    """Every mount of the three flags, checked for two at one destination."""
    specs = [parse_volume(v) for v in volumes] + [parse_tmpfs(t) for t in tmpfs] + [parse_mount(m) for m in mounts]
    seen: set[str] = set()
    for s in specs:
        if s.target in seen:
            raise _invalid(f"Duplicate mount point: {s.target}")
        seen.add(s.target)
    return tuple(specs)


def apply(values: dict[str, Any], host: HostConfig) -> HostConfig:
    import dataclasses

    mounts = parse_all(list(values.get("volume") or []), list(values.get("mount") or []),
                       list(values.get("tmpfs") or []))
    return dataclasses.replace(host, mounts=mounts) if mounts else host

"""Volumes without root: docker's -v / --mount / --tmpfs parsing, the volume store, OCI mounts, inspect, copy-up."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from runtime import copyup
from runtime.cgroups import Layout
from runtime.engine import mounts
from runtime.engine.changes import changes
from runtime.engine.flags.volumes import parse_all, parse_mount, parse_tmpfs, parse_volume, ram_in_bytes
from runtime.engine.model import Config, ContainerRecord, HostConfig, MountSpec
from runtime.engine.runflags import to_options
from runtime.engine.volumes import ANONYMOUS_LABEL, VolumeStore, check_name, labels_match
from runtime.errors import InvalidArgument, NotFound, RuntimeFailure
from runtime.oci.spec import Mount, Process, Spec
from runtime.rootfs import parse_options, plan
from tuidock.cli.runflags import absolute_paths

# ---- -v ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, want", [
    ("vol:/data", MountSpec("volume", "/data", "vol")),
    ("vol:/data:ro", MountSpec("volume", "/data", "vol", read_only=True, mode="ro")),
    ("vol:/data:rw,nocopy", MountSpec("volume", "/data", "vol", options=("nocopy",), mode="rw,nocopy")),
    ("/data", MountSpec("volume", "/data", anonymous=True)),
    ("/data/", MountSpec("volume", "/data", anonymous=True)),
    ("/srv/x:/x", MountSpec("bind", "/x", "/srv/x", options=("rprivate",))),
    ("/srv/x/:/x:ro,z", MountSpec("bind", "/x", "/srv/x", read_only=True, options=("rprivate",), mode="ro,z")),
    ("/srv/x:/x:rslave,cached", MountSpec("bind", "/x", "/srv/x", options=("rslave",), mode="rslave,cached")),
    ("/srv//x/../y:/a//b/", MountSpec("bind", "/a/b", "/srv/y", options=("rprivate",))),
])
def test_volume_flag_follows_dockers_linux_parser(raw: str, want: MountSpec) -> None:
    assert parse_volume(raw) == want


@pytest.mark.parametrize("raw, message", [
    ("/foo:rw", "invalid volume specification: '/foo:rw'"),
    ("a:/b:ro:x", "invalid volume specification: 'a:/b:ro:x'"),
    (":/x", "invalid volume specification: ':/x'"),
    ("vol:", "invalid volume specification: 'vol:'"),
    ("vol:/d:rw,ro", "invalid mode: rw,ro"),
    ("vol:/d:bogus", "invalid mode: bogus"),
    ("vol:/d:z,Z", "invalid mode: z,Z"),
    ("vol:data", "invalid volume specification: 'vol:data': invalid mount config for type \"volume\": "
                 "invalid mount path: 'data' mount path must be absolute"),
    ("data", "invalid mount path: 'data' mount path must be absolute"),
    ("vol:/", "destination can't be '/'"),
    ("/h:/c:nocopy", "invalid mount config for type \"bind\": field VolumeOptions must not be specified"),
    ("vol:/d:shared", "invalid mount config for type \"volume\": field BindOptions must not be specified"),
    ("x:/d", "create x: volume name is too short, names should be at least two alphanumeric characters"),
    ("my$vol:/d", "includes invalid characters for a local volume name"),
    ("rel/dir:/d", "If you intended to pass a host directory, use absolute path"),
])
def test_volume_flag_errors_are_dockers(raw: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=None) as e:
        parse_volume(raw)
    assert message in str(e.value)


# ---- --mount and --tmpfs ----------------------------------------------------------------


@pytest.mark.parametrize("raw, want", [
    ("type=bind,source=/srv,target=/x,readonly", MountSpec("bind", "/x", "/srv", True, ("rprivate",), flag="mount")),
    ("type=bind,src=/srv,dst=/x,ro=false,bind-propagation=rshared",
     MountSpec("bind", "/x", "/srv", False, ("rshared",), flag="mount")),
    ("type=bind,src=/srv,destination=/x,bind-nonrecursive",
     MountSpec("bind", "/x", "/srv", False, ("rprivate", "nonrecursive"), flag="mount")),
    ("target=/v", MountSpec("volume", "/v", anonymous=True, flag="mount")),
    ("type=volume,src=db,dst=/v,volume-nocopy,volume-label=tier=db",
     MountSpec("volume", "/v", "db", options=("nocopy", "label=tier=db"), flag="mount")),
    ("type=volume,src=db,dst=/v,volume-nocopy=false", MountSpec("volume", "/v", "db", flag="mount")),
    ("TYPE=TMPFS,dst=/t,tmpfs-size=64m,tmpfs-mode=1770",
     MountSpec("tmpfs", "/t", options=("size=67108864", "mode=1770"), flag="mount")),
    ('"type=bind","src=/a,b",dst=/x', MountSpec("bind", "/x", "/a,b", options=("rprivate",), flag="mount")),
])
def test_mount_flag_takes_dockers_csv_fields(raw: str, want: MountSpec) -> None:
    assert parse_mount(raw) == want


@pytest.mark.parametrize("raw, message", [
    ("type=bind,src=/x", "target is required"),
    ("type=volume,dst=/x,bogus", "invalid field 'bogus' must be a key=value pair"),
    ("type=volume,dst=/x,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("type=volume,dst=/x,readonly=perhaps", "invalid value for readonly: perhaps"),
    ("type=bind,src=/x,dst=/y,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
    ("type=volume,dst=/y,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'volume'"),
    ("type=tmpfs,dst=/y,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ("type=tmpfs,dst=/y,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
    ("type=bind,dst=/y", 'invalid mount config for type "bind": field Source must not be empty'),
    ("type=bind,src=rel,dst=/y", "invalid mount path: 'rel' mount path must be absolute"),
    ("type=tmpfs,src=x,dst=/y", 'invalid mount config for type "tmpfs": field Source must not be specified'),
    ("type=nfs,dst=/y", 'invalid mount config for type "nfs": mount type unknown'),
    ("type=volume,dst=/", "destination can't be '/'"),
])
def test_mount_flag_errors_are_dockers(raw: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        parse_mount(raw)
    assert message in str(e.value)


def test_tmpfs_flag_keeps_its_options_and_checks_them() -> None:
    assert parse_tmpfs("/run") == MountSpec("tmpfs", "/run")
    assert parse_tmpfs("/run:rw,size=64m,exec") == MountSpec("tmpfs", "/run", options=("rw", "size=64m", "exec"))
    assert parse_tmpfs("/ro:ro").read_only and not parse_tmpfs("/ro:ro,rw").read_only
    for bad in ("run", "/run:bogus", "/run:colour=red"):
        with pytest.raises(InvalidArgument):
            parse_tmpfs(bad)


def test_ram_in_bytes_is_go_units() -> None:
    assert [ram_in_bytes(v) for v in ("1024", "64k", "64m", "1.5g", "2GiB", "3 MB")] == [
        1024, 65536, 64 << 20, 3 << 29, 2 << 30, 3 << 20]


def test_one_destination_takes_one_mount() -> None:
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /d"):
        parse_all(["vol:/d"], ["type=tmpfs,dst=/d/"], [])


def test_run_flags_reach_the_host_config() -> None:
    opts = to_options({"volume": ["vol:/v:ro"], "tmpfs": ["/t:size=1m"], "mount": ["type=bind,src=/s,dst=/b"],
                       "read_only": True}, ["busybox"])
    assert opts.host.read_only
    assert [(m.type, m.target) for m in opts.host.mounts] == [("volume", "/v"), ("tmpfs", "/t"), ("bind", "/b")]


@pytest.mark.parametrize("dest, given, want", [
    ("volume", "./data:/d", "{cwd}/data:/d"),
    ("volume", "../up:/d:ro", "{parent}/up:/d:ro"),
    ("volume", ".:/d", "{cwd}:/d"),
    ("volume", ".hidden:/d", "{cwd}/.hidden:/d"),
    ("volume", "named:/d", "named:/d"),
    ("volume", "/abs:/d", "/abs:/d"),
    ("volume", "/anonymous", "/anonymous"),
    ("mount", "type=bind,src=./x,dst=/d", "type=bind,src={cwd}/x,dst=/d"),
    ("mount", "type=bind,source=.,dst=/d", "type=bind,source={cwd},dst=/d"),
])
def test_the_client_makes_relative_host_paths_absolute(dest: str, given: str, want: str) -> None:
    cwd = os.getcwd()
    assert absolute_paths(dest, given) == want.format(cwd=cwd, parent=os.path.dirname(cwd))


# ---- the store -------------------------------------------------------------------------


def test_volume_names_are_dockers() -> None:
    assert check_name("db-data_1.x") == "db-data_1.x"
    for bad in ("a", ".hidden", "-x", "a/b", "a b", "x" * 256):
        with pytest.raises(InvalidArgument):
            check_name(bad)


def test_create_list_get_remove(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path))
    vol, new = store.create("data", {"tier": "db"})
    assert new and vol.name == "data" and vol.labels == {"tier": "db"} and not vol.anonymous
    assert os.path.isdir(vol.mountpoint) and vol.mountpoint == str(tmp_path / "volumes" / "data" / "_data")
    again, new = store.create("data")
    assert not new and again == vol
    unnamed, _ = store.create()
    assert len(unnamed.name) == 64 and not unnamed.anonymous  # `volume create` without a name, as docker
    store.remove(unnamed.name)
    anon, _ = store.create(None, {ANONYMOUS_LABEL: ""})
    assert len(anon.name) == 64 and anon.anonymous
    assert [v.name for v in store.list()] == sorted(["data", anon.name])
    d = vol.to_docker()
    assert d["Name"] == "data" and d["Driver"] == "local" and d["Scope"] == "local"
    assert d["Mountpoint"] == vol.mountpoint and d["Labels"] == {"tier": "db"}
    assert d["CreatedAt"].endswith("Z")
    store.remove("data")
    assert store.find("data") is None
    with pytest.raises(NotFound, match="get data: no such volume"):
        store.get("data")
    assert sorted(os.listdir(store.dir)) == [anon.name]


def test_racing_creates_of_one_name_make_one_volume(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path))
    results: list[bool] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            results.append(store.create("raced")[1])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=create) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results.count(True) == 1 and len(results) == 16
    assert os.listdir(store.dir) == ["raced"]  # no temporary directory left


def test_sweep_removes_what_killed_commands_left(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path))
    store.create("kept")
    for n in (".rm-1", ".new-old", ".new-young"):
        os.makedirs(os.path.join(store.dir, n, "_data"))
    old = os.path.join(store.dir, ".new-old")
    os.utime(old, (0, 0))
    assert sorted(store.sweep()) == [".new-old", ".rm-1"]
    assert sorted(os.listdir(store.dir)) == [".new-young", "kept"]  # a create may be making it now


def test_label_filters() -> None:
    labels = {"a": "1", "b": ""}
    assert labels_match(labels, ("a",)) and labels_match(labels, ("a=1", "b")) and labels_match(labels, ("b=",))
    assert not labels_match(labels, ("a=2",)) and not labels_match(labels, ("c",))
    # label!=: docker's negated filters
    assert labels_match(labels, ("!c", "!a=2")) and not labels_match(labels, ("!a",))
    assert not labels_match(labels, ("!a=1",)) and labels_match({}, ("!a",))


def test_browsing_a_volume_never_leaves_it(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path / "root"))
    data = Path(store.create("data")[0].mountpoint)
    (data / "greeting").write_text("hello\n")
    (data / "sub").mkdir(mode=0o750)
    os.mkfifo(data / "fifo")
    # What a container sharing the volume can plant: links that would lead a host reader out.
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("host only")
    os.symlink(str(secret), data / "abs")
    os.symlink("../../../../../secret", data / "rel")
    os.symlink("../../../../..", data / "up")
    listing = {f.name: f for f in store.files("data")}
    assert sorted(listing) == ["abs", "fifo", "greeting", "rel", "sub", "up"]
    assert listing["greeting"].kind.value == "file" and listing["greeting"].size == 6
    assert listing["sub"].kind.value == "dir" and listing["sub"].mode == 0o750 and listing["sub"].size == 0
    assert listing["abs"].kind.value == "symlink" and listing["abs"].target == str(secret)
    assert listing["fifo"].kind.value == "fifo"
    assert store.read("data", "greeting", limit=2) == (b"he", 6)
    # Symlinks resolve with the volume as root: "up" is the volume itself, "abs" names nothing in it.
    assert {f.name for f in store.files("data", "up")} == set(listing)
    for rel in ("abs/key", "rel/key", "up/secret/key", "abs"):
        with pytest.raises(NotFound, match=f"^volume data: {rel}: no such file or directory"):
            store.read("data", rel)
    with pytest.raises(InvalidArgument, match="volume data: fifo: not a regular file"):
        store.read("data", "fifo")  # and does not block
    with pytest.raises(InvalidArgument, match="volume data: greeting: not a directory"):
        store.files("data", "greeting")
    for bad in ("nosuch", "../root"):
        with pytest.raises(NotFound, match="no such volume"):
            store.files(bad)
        with pytest.raises(NotFound, match="no such volume"):
            store.size(bad)
    assert store.size("data") > 0


# ---- from MountSpecs to the bundle and inspect ---------------------------------------------


def record(*specs: MountSpec, volumes: tuple[str, ...] = ()) -> ContainerRecord:
    cfg = Config(image="busybox", cmd=("sh",), volumes=volumes)
    return ContainerRecord("c" * 64, "box", 0, "sha256:" + "0" * 64, (), cfg, HostConfig(mounts=specs))


def test_create_names_anonymous_volumes_and_adds_the_images() -> None:
    rec = record(MountSpec("volume", "/a", anonymous=True), MountSpec("bind", "/img", "/srv", options=("rprivate",)),
                 volumes=("/img", "/var/lib/db"))
    host, cfg = mounts.for_create(rec.host, rec.config)
    a, bind, image_vol = host.mounts
    assert a.anonymous and len(a.source) == 64 and bind.type == "bind"
    assert image_vol.target == "/var/lib/db" and image_vol.anonymous and image_vol.flag == "image"
    assert cfg.volumes == ("/a", "/img", "/var/lib/db")


def test_oci_mounts_are_dockers_and_create_named_volumes(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path))
    rec = record(MountSpec("volume", "/v", "named", read_only=True),
                 MountSpec("volume", "/n", "quiet", options=("nocopy",)),
                 MountSpec("bind", "/b", "/srv", options=("rslave",)),
                 MountSpec("tmpfs", "/t", options=("size=1m", "exec", "nomand")))
    got = mounts.oci_mounts(store, rec)
    assert got == (
        Mount("/v", "bind", store.data_path("named"), ("rbind", "rprivate", "ro", "copyup")),
        Mount("/n", "bind", store.data_path("quiet"), ("rbind", "rprivate")),
        Mount("/b", "bind", "/srv", ("rbind", "rslave")),
        Mount("/t", "tmpfs", "tmpfs", ("noexec", "nosuid", "nodev", "size=1m", "exec")),
    )
    assert {v.name for v in store.list()} == {"named", "quiet"}


def test_the_copyup_option_reaches_the_mount_plan(tmp_path: Path) -> None:
    (tmp_path / "vol").mkdir()
    spec = Spec(process=Process(args=("sh",)), mounts=(
        Mount("/v", "bind", str(tmp_path / "vol"), ("rbind", "rprivate", "copyup")),
        Mount("/w", "bind", str(tmp_path / "vol"), ("rbind", "rprivate"))))
    p = plan(spec, str(tmp_path), Layout(2, unified="/sys/fs/cgroup"))
    assert [op.copy_up for op in p.mounts] == [True, False]
    assert parse_options(("rbind", "copyup")).data == ""
    assert "copied in first" in p.describe()[1]


def test_inspect_mounts_and_host_config_are_dockers(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path))
    specs = (parse_volume("vol:/data"), parse_volume("vol2:/ro:ro"), parse_volume("/srv:/srv:ro"),
             MountSpec("volume", "/anon", "f" * 64, anonymous=True), parse_mount("type=tmpfs,dst=/tm,tmpfs-size=1k"),
             parse_tmpfs("/run:size=64k"), parse_mount("type=volume,src=db,dst=/db,volume-nocopy"))
    entries = mounts.inspect_entries(store, HostConfig(mounts=specs))
    assert entries[0] == {"Type": "volume", "Name": "vol", "Source": store.data_path("vol"), "Destination": "/data",
                          "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}
    assert entries[1]["Mode"] == "ro" and entries[1]["RW"] is False
    assert entries[2] == {"Type": "bind", "Source": "/srv", "Destination": "/srv", "Mode": "ro", "RW": False,
                          "Propagation": "rprivate"}
    assert entries[3]["Mode"] == "" and entries[3]["Name"] == "f" * 64
    assert entries[4] == {"Type": "tmpfs", "Source": "", "Destination": "/tm", "Mode": "", "RW": True,
                          "Propagation": ""}
    assert [e["Destination"] for e in entries] == ["/data", "/ro", "/srv", "/anon", "/tm", "/db"]  # no --tmpfs
    h = HostConfig(mounts=specs).to_docker()
    assert h["Binds"] == ["vol:/data", "vol2:/ro:ro", "/srv:/srv:ro"]
    assert h["Tmpfs"] == {"/run": "size=64k"}
    assert h["Mounts"] == [{"Type": "tmpfs", "Target": "/tm", "TmpfsOptions": {"SizeBytes": 1024}},
                           {"Type": "volume", "Source": "db", "Target": "/db", "VolumeOptions": {"NoCopy": True}}]


# ---- diff ignores mounts ------------------------------------------------------------------


def test_diff_leaves_out_directories_made_only_to_hold_mounts(tmp_path: Path) -> None:
    upper, lower = tmp_path / "upper", tmp_path / "lower"
    (lower / "etc").mkdir(parents=True)
    (upper / "a" / "b" / "c").mkdir(parents=True)  # -v vol:/a/b/c
    (upper / "x" / "y").mkdir(parents=True)  # -v vol:/x/y, and a file beside it
    (upper / "x" / "new").write_text("")
    (upper / "etc" / "t").mkdir(parents=True)  # --tmpfs /etc/t
    got = changes(str(upper), [str(lower)], frozenset({"/a/b/c", "/x/y", "/etc/t"}))
    assert [(c.kind, c.path) for c in got] == [("A", "/x"), ("A", "/x/new")]


# ---- copy-up (as the current user; ownership by others is tested as root in integration) ------


def test_copyup_fills_an_empty_volume_once(tmp_path: Path) -> None:
    root, vol = tmp_path / "root", tmp_path / "vol"
    (root / "etc" / "sub").mkdir(parents=True)
    (root / "etc" / "f").write_text("data")
    os.chmod(root / "etc" / "f", 0o640)
    os.link(root / "etc" / "f", root / "etc" / "sub" / "hard")
    os.symlink("../f", root / "etc" / "sub" / "link")
    os.mkfifo(root / "etc" / "fifo", 0o600)
    os.utime(root / "etc" / "f", ns=(1_000_000_000, 2_000_000_000))
    os.chmod(root / "etc", 0o750)
    vol.mkdir()
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        assert copyup.populate(root_fd, "/etc", str(vol))
        assert (vol / "f").read_text() == "data" and stat.S_IMODE((vol / "f").stat().st_mode) == 0o640
        assert (vol / "f").stat().st_mtime_ns == 2_000_000_000
        assert (vol / "sub" / "hard").stat().st_ino == (vol / "f").stat().st_ino
        assert os.readlink(vol / "sub" / "link") == "../f" and stat.S_ISFIFO((vol / "fifo").lstat().st_mode)
        assert stat.S_IMODE(vol.stat().st_mode) == 0o750  # the mount point's own mode, as docker
        (root / "etc" / "later").write_text("")
        assert not copyup.populate(root_fd, "/etc", str(vol))  # not empty any more: never again
        assert not (vol / "later").exists()
        empty = tmp_path / "empty"
        empty.mkdir()
        assert not copyup.populate(root_fd, "/missing", str(empty)) and not os.listdir(empty)
    finally:
        os.close(root_fd)


def test_copyup_stays_in_the_root_and_refuses_the_root_itself(tmp_path: Path) -> None:
    root, vol, outside = tmp_path / "root", tmp_path / "vol", tmp_path / "outside"
    root.mkdir()
    vol.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("host")
    os.symlink(str(outside), root / "escape")  # absolute: resolved inside the root, where it does not exist
    os.symlink("/", root / "data")
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        assert not copyup.populate(root_fd, "/escape", str(vol)) and not os.listdir(vol)
        with pytest.raises(RuntimeFailure, match="resolves to the container's root directory"):
            copyup.populate(root_fd, "/data", str(vol))
        assert not os.listdir(vol)
    finally:
        os.close(root_fd)

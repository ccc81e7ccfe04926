"""Volumes, bind mounts and tmpfs on the real kernel: what a user would check, from inside and from the host."""

from __future__ import annotations

import concurrent.futures
import errno
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path

import pytest

from runtime.engine.model import ContainerStatus
from runtime.engine.volumes import VolumeInUse, VolumeUser

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


@pytest.fixture
def vols(env):
    """The env, and afterwards its containers gone and every volume the test made removed (checked)."""
    store = env.engine().volume_store
    before = {v.name for v in store.list()}
    yield env
    errors = env.remove_all()
    for v in store.list():
        if v.name not in before:
            store.remove(v.name)
    stray = [n for n in (os.listdir(store.dir) if os.path.isdir(store.dir) else [])
             if n not in before and n != ".lock"]
    assert not errors and not stray, (errors, stray)


def uniq(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def ok(env, *args: str, input: str | None = None):
    r = env.cli(*args, input=input)
    assert r.returncode == 0, f"tuidock {' '.join(args)}: {r.returncode} {r.stderr}"
    return r


def mountpoint(env, name: str) -> Path:
    return Path(json.loads(ok(env, "volume", "inspect", name).stdout)[0]["Mountpoint"])


def names(env, *args: str) -> list[str]:
    return ok(env, "volume", "ls", "-q", *args).stdout.split()


# ---- data: volumes persist, binds are the host's, tmpfs is gone -------------------------------


def test_named_volume_is_created_on_first_use_and_keeps_its_data(vols):
    vol = uniq("data")
    ok(vols, "run", "--rm", "-v", f"{vol}:/data", "busybox", "sh", "-c", "echo hello > /data/greeting")
    assert vol in names(vols)
    assert (mountpoint(vols, vol) / "greeting").read_text() == "hello\n"
    r = ok(vols, "run", "--rm", "-v", f"{vol}:/elsewhere", "busybox", "cat", "/elsewhere/greeting")
    assert r.stdout == "hello\n"


def test_bind_mount_writes_reach_the_host_at_once(vols, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    ok(vols, "run", "-d", "--name", uniq("bind"), "-v", f"{shared}:/shared", "busybox",
       "sh", "-c", "echo now > /shared/f; sleep 30")
    deadline = time.monotonic() + 10
    while not (shared / "f").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (shared / "f").read_text() == "now\n"  # while the container still runs


def test_relative_bind_paths_are_the_callers(vols, tmp_path):
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "f").write_text("relative\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = ok(vols, "run", "--rm", "-v", "./here:/h", "--mount", "type=bind,src=./here,dst=/m", "busybox",
               "cat", "/h/f", "/m/f")
    finally:
        os.chdir(cwd)
    assert r.stdout == "relative\n" * 2


def test_tmpfs_content_is_gone_after_the_container(vols):
    name = uniq("tmp")
    ok(vols, "create", "--name", name, "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
       "ls /scratch; echo kept > /scratch/f; grep ' /scratch ' /proc/mounts")
    first = ok(vols, "start", "-a", name).stdout
    assert first.startswith("tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k")
    assert ok(vols, "start", "-a", name).stdout == first  # `ls` found nothing again
    assert ok(vols, "diff", name).stdout == ""  # and nothing reached the upper layer
    full = vols.cli("run", "--rm", "--mount", "type=tmpfs,dst=/small,tmpfs-size=64k", "busybox",
                    "dd", "if=/dev/zero", "of=/small/f", "bs=1k", "count=128")
    assert full.returncode != 0 and "No space left on device" in full.stderr


def test_read_only_mounts_really_are(vols, tmp_path):
    vol = uniq("ro")
    (tmp_path / "b").mkdir()
    for flag in (f"{vol}:/d:ro", f"{tmp_path}/b:/d:ro"):
        r = vols.cli("run", "--rm", "-v", flag, "busybox", "sh", "-c", "touch /d/x")
        assert r.returncode == 1 and "Read-only file system" in r.stderr, flag
    r = vols.cli("run", "--rm", "--mount", f"type=volume,src={vol},dst=/d,readonly", "busybox",
                 "sh", "-c", "grep ' /d ' /proc/mounts; touch /d/x")
    assert r.returncode == 1 and re.match(r"\S+ /d \S+ ro,", r.stdout), r.stdout
    assert not os.listdir(tmp_path / "b") and not os.listdir(mountpoint(vols, vol))


def test_read_only_root_with_writable_volumes(vols):
    vol = uniq("rw")
    r = vols.cli("run", "--rm", "--read-only", "-v", f"{vol}:/data", "--tmpfs", "/run", "busybox", "sh", "-c",
                 "echo ok > /data/f && echo ok > /run/f && cat /data/f /run/f && touch /etc/x")
    assert r.stdout == "ok\nok\n" and r.returncode == 1 and "Read-only file system" in r.stderr


def test_mounts_live_only_in_the_containers_mount_namespace(vols, tmp_path):
    vol = uniq("ns")
    (tmp_path / "b").mkdir()
    name = uniq("ns")
    ok(vols, "run", "-d", "--name", name, "-v", f"{vol}:/data", "-v", f"{tmp_path}/b:/b", "--tmpfs", "/t",
       "busybox", "sleep", "30")
    pid = int(ok(vols, "inspect", "-f", "{{.State.Pid}}", name).stdout)
    theirs = Path(f"/proc/{pid}/mountinfo").read_text()
    ours = Path("/proc/self/mountinfo").read_text()
    data = str(mountpoint(vols, vol))
    assert f"{data} /data " in theirs and f"{tmp_path}/b /b " in theirs and " /t " in theirs
    assert data not in ours and f"{tmp_path}/b" not in ours


# ---- copy-up ---------------------------------------------------------------------------


def test_an_empty_volume_gets_the_image_files_once(vols):
    vol = uniq("etc")
    image_passwd = ok(vols, "run", "--rm", "busybox", "cat", "/etc/passwd").stdout
    ok(vols, "run", "--rm", "-v", f"{vol}:/etc", "busybox", "true")
    data = mountpoint(vols, vol)
    assert (data / "passwd").read_text() == image_passwd
    assert stat.S_IMODE((data / "passwd").stat().st_mode) == 0o644 and (data / "group").is_file()
    # Once: a volume with content is never filled again.
    ok(vols, "run", "--rm", "-v", f"{vol}:/etc", "busybox", "rm", "/etc/passwd")
    r = vols.cli("run", "--rm", "-v", f"{vol}:/etc", "busybox", "ls", "/etc/passwd")
    assert r.returncode != 0 and not (data / "passwd").exists()
    # Symlinks stay symlinks (busybox's applets in /usr/bin).
    bins = uniq("bin")
    ok(vols, "run", "--rm", "-v", f"{bins}:/usr/bin", "busybox", "true")
    inside = ok(vols, "run", "--rm", "busybox", "readlink", "/usr/bin/env").stdout.strip()
    assert os.readlink(mountpoint(vols, bins) / "env") == inside


def test_nocopy_and_binds_get_nothing(vols, tmp_path):
    for flag in ("-v", "--mount"):
        vol = uniq("nocopy")
        spec = f"{vol}:/usr/bin:nocopy" if flag == "-v" else f"type=volume,src={vol},dst=/usr/bin,volume-nocopy"
        ok(vols, "run", "--rm", flag, spec, "busybox", "true")
        assert os.listdir(mountpoint(vols, vol)) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ok(vols, "run", "--rm", "-v", f"{empty}:/usr/bin", "busybox", "ls", "-A", "/usr/bin").stdout == ""
    assert os.listdir(empty) == []


def test_copy_up_keeps_owners_modes_links_and_capabilities(vols):
    vol = uniq("own")
    name = uniq("own")
    ok(vols, "create", "--name", name, "-v", f"{vol}:/srv", "busybox", "true")
    eng = vols.engine()
    # What an image layer or an earlier run leaves at the mount point, in the container's root.
    srv = Path(eng.paths(eng.resolve(name)).upper) / "srv"
    (srv / "d").mkdir(parents=True)
    os.chown(srv / "d", 1234, 5678)
    os.chmod(srv / "d", 0o2750)
    tool = srv / "d" / "tool"
    tool.write_bytes(b"#!/bin/sh\n")
    os.chown(tool, 42, 43)
    os.chmod(tool, 0o4750)
    os.link(tool, srv / "hard")
    os.symlink("d/tool", srv / "link")
    os.mkfifo(srv / "fifo", 0o640)
    os.chmod(srv, 0o711)
    caps = (0x02000001).to_bytes(4, "little") + (1 << 13).to_bytes(4, "little") + bytes(12)  # cap_net_raw+ep
    try:
        os.setxattr(tool, "security.capability", caps)
        os.setxattr(tool, "user.note", b"kept")
        xattrs = True
    except OSError as e:
        assert e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)
        xattrs = False
    ok(vols, "start", "-a", name)
    data = mountpoint(vols, vol)
    st = (data / "d").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o2750)
    st = (data / "d" / "tool").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (42, 43, 0o4750)
    assert (data / "hard").stat().st_ino == st.st_ino and st.st_nlink == 2
    assert os.readlink(data / "link") == "d/tool" and stat.S_ISFIFO((data / "fifo").lstat().st_mode)
    assert stat.S_IMODE(data.stat().st_mode) == 0o711  # the mount point's own mode
    if xattrs:
        assert os.getxattr(data / "d" / "tool", "security.capability") == caps
        assert os.getxattr(data / "d" / "tool", "user.note") == b"kept"


# ---- mount targets stay inside the container root ------------------------------------------


def test_a_symlinked_target_cannot_send_a_mount_onto_the_host(vols):
    vol = uniq("esc")
    leaf = uniq("tuidock-escape")  # nothing of this name exists on the host
    assert not os.path.lexists(f"/{leaf}")
    name = uniq("esc")
    ok(vols, "create", "--name", name, "-v", f"{vol}:/a/{leaf}", "busybox", "sh", "-c",
       f"if [ -L /a ]; then cat /{leaf}/marker; ls -A /a.old/{leaf}; "
       f"else echo marker > /a/{leaf}/marker; mv /a /a.old && ln -s / /a; fi")
    ok(vols, "start", "-a", name)  # the first run turns /a into a symlink to /
    second = ok(vols, "start", "-a", name)
    # /a/<leaf> resolved inside the container's root: the volume is at the container's /<leaf>
    # (the old mount point, moved to /a.old, is empty), and the host's / never saw it.
    assert second.stdout == "marker\n"
    assert not os.path.lexists(f"/{leaf}")
    assert f" /{leaf} " not in Path("/proc/self/mountinfo").read_text()


def test_a_target_turned_into_a_symlink_to_root_is_refused(vols):
    vol = uniq("root")
    name = uniq("root")
    ok(vols, "create", "--name", name, "-v", f"{vol}:/a/data", "busybox", "sh", "-c",
       "echo marker > /a/data/marker; mv /a /a.old && mkdir /a && ln -s / /a/data")
    ok(vols, "start", "-a", name)  # now /a/data -> / in the container's upper layer
    host_root = sorted(os.listdir("/"))
    r = vols.cli("start", "-a", name)
    assert r.returncode == 125 and r.stderr.count("\n") == 1
    assert "mount /a/data: resolves to the container's root directory" in r.stderr
    # Neither the host's / nor the volume was touched: no copy of the root, no mount point.
    assert sorted(os.listdir("/")) == host_root and os.listdir(mountpoint(vols, vol)) == ["marker"]


# ---- errors ---------------------------------------------------------------------------------


def test_a_missing_bind_source_is_one_clear_error_and_creates_nothing(vols, tmp_path):
    missing = tmp_path / "no" / "such"
    vol = uniq("never")
    name = uniq("never")
    for verb in ("run", "create"):
        r = vols.cli(verb, "--name", name, "-v", f"{vol}:/v", "-v", f"{missing}:/x", "busybox", "true")
        assert r.returncode == 125
        assert r.stderr == (f'tuidock: invalid mount config for type "bind": bind source path does not exist: '
                            f"{missing}\n")
    assert ok(vols, "ps", "-aq").stdout == "" and vol not in names(vols)
    ok(vols, "create", "--name", name, "busybox", "true")  # the name was never taken


def test_a_file_onto_a_directory_is_one_clear_error(vols, tmp_path):
    (tmp_path / "f").write_text("x")
    for spec in (f"{tmp_path}/f:/etc", f"{tmp_path}:/etc/passwd"):
        r = vols.cli("run", "--rm", "-v", spec, "busybox", "true")
        target = spec.split(":")[1]
        assert r.returncode == 125 and r.stderr.count("\n") == 1, r.stderr
        assert f"mount {target} src={spec.split(':')[0]} flags=MS_BIND|MS_REC: not a directory: " \
               "are you trying to mount a directory onto a file (or vice-versa)?" in r.stderr
    assert ok(vols, "ps", "-aq").stdout == ""


def test_bad_flags_are_dockers_errors(vols):
    for args, message in (
        (("-v", "/foo:rw"), "invalid volume specification: '/foo:rw'"),
        (("-v", "vol:/d:rx"), "invalid mode: rx"),
        (("--mount", "type=volume"), "target is required"),
        (("--tmpfs", "relative"), "mount path must be absolute"),
        (("-v", "v1:/d", "--tmpfs", "/d"), "Duplicate mount point: /d"),
    ):
        r = vols.cli("run", "--rm", *args, "busybox", "true")
        assert r.returncode == 125 and message in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


# ---- the volume commands --------------------------------------------------------------------


def test_volume_create_ls_inspect(vols):
    vol = uniq("made")
    assert ok(vols, "volume", "create", "--label", "tier=db", vol).stdout == f"{vol}\n"
    assert ok(vols, "volume", "create", vol).stdout == f"{vol}\n"  # as docker: the existing one
    anon = ok(vols, "volume", "create").stdout.strip()
    assert len(anon) == 64
    obj = json.loads(ok(vols, "volume", "inspect", vol).stdout)
    assert len(obj) == 1 and obj[0]["Name"] == vol and obj[0]["Driver"] == "local" and obj[0]["Scope"] == "local"
    assert obj[0]["Labels"] == {"tier": "db"} and os.path.isdir(obj[0]["Mountpoint"])
    assert obj[0]["Mountpoint"] == str(vols.root / "volumes" / vol / "_data")
    assert ok(vols, "volume", "inspect", "-f", "{{.Name}} {{index .Labels \"tier\"}}", vol).stdout == f"{vol} db\n"
    table = ok(vols, "volume", "ls").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"] and f"local    {vol}" in table
    assert set(names(vols, "--filter", "label=tier=db")) == {vol}
    assert vol in names(vols, "--filter", f"name={vol[:8]}") and anon not in names(vols, "--filter", f"name={vol}")
    assert ok(vols, "volume", "ls", "--format", "{{.Name}}:{{.Driver}}", "-f", f"name={vol}").stdout == f"{vol}:local\n"
    row = json.loads(ok(vols, "volume", "ls", "--format", "json", "-f", f"name={vol}").stdout)
    assert row["Name"] == vol and row["Labels"] == "tier=db"
    df = {" ".join(line.split()[:2]): line.split() for line in ok(vols, "system", "df").stdout.splitlines()}
    assert int(df["Local Volumes"][2]) >= 2
    for bad, message in ((("volume", "create", "x"), "volume name is too short"),
                         (("volume", "create", "no/slash"), "includes invalid characters"),
                         (("volume", "inspect", "nosuch-volume"), "get nosuch-volume: no such volume")):
        r = vols.cli(*bad)
        assert r.returncode == 125 and message in r.stderr


def test_volume_rm_is_refused_while_any_container_uses_it(vols):
    vol = uniq("used")
    stopped = uniq("stopped")
    ok(vols, "run", "--name", stopped, "-v", f"{vol}:/data", "busybox", "true")
    r = vols.cli("volume", "rm", vol)
    eng = vols.engine()
    cid = eng.resolve(stopped)
    assert r.returncode == 125
    assert r.stderr == f"tuidock: remove {vol}: volume is in use by container {stopped} ({cid[:12]})\n"
    # The engine API the volumes screen uses: who mounts it, where, in what state, and the typed refusal.
    users = (VolumeUser(cid, stopped, ContainerStatus.EXITED, "/data", False),)
    assert eng.volume_users(vol) == users
    with pytest.raises(VolumeInUse) as refused:
        eng.volume_remove(vol)
    assert refused.value.users == users and refused.value.exit_code == 125
    usage = {u.volume.name: u for u in eng.volume_usage()}
    assert usage[vol].users == users and usage[vol].in_use and usage[vol].size == 0
    never = uniq("created")
    ok(vols, "create", "--name", never, "-v", f"{vol}:/data", "busybox", "true")
    ok(vols, "rm", stopped)
    r = vols.cli("volume", "rm", "-f", vol)  # -f does not override "in use"
    assert r.returncode == 125 and never in r.stderr
    ok(vols, "rm", never)
    assert ok(vols, "volume", "rm", vol).stdout == f"{vol}\n"
    assert vol not in names(vols)
    r = vols.cli("volume", "rm", vol)
    assert r.returncode == 125 and "no such volume" in r.stderr
    ok(vols, "volume", "rm", "-f", vol)


def test_rm_v_and_auto_remove_take_anonymous_volumes_only(vols):
    named = uniq("named")
    name = uniq("anon")
    ok(vols, "run", "--name", name, "-v", "/anon", "-v", f"{named}:/named", "--mount", "type=volume,dst=/m",
       "busybox", "true")
    anon = [m["Name"] for m in json.loads(ok(vols, "inspect", "-f", "{{json .Mounts}}", name).stdout)
            if m["Name"] != named]
    assert len(anon) == 2 and set(anon) <= set(names(vols, "--filter", "label=com.docker.volume.anonymous"))
    ok(vols, "rm", "-v", name)
    left = names(vols)
    assert named in left and not set(anon) & set(left)
    before = set(names(vols))
    ok(vols, "run", "--rm", "-v", "/gone", "busybox", "true")
    assert set(names(vols)) == before  # docker's --rm takes the anonymous volume along
    ok(vols, "run", "--name", name, "-v", "/stays", "busybox", "true")
    ok(vols, "rm", name)
    assert len(set(names(vols)) - before) == 1  # without -v it stays, for `volume prune`


def test_volume_prune_takes_unused_anonymous_volumes_unless_all(vols):
    # The session's root may hold anonymous volumes other tests' containers left (as `rm` without -v
    # does); no container exists now, so prune takes those too.
    earlier = {v.name for v in vols.engine().volume_store.list() if v.anonymous}
    named, used = uniq("keep"), uniq("used")
    ok(vols, "volume", "create", named)
    labelled = uniq("labelled")
    ok(vols, "volume", "create", "--label", "x=y", labelled)
    unnamed = ok(vols, "volume", "create").stdout.strip()  # a random name, but not anonymous (docker)
    left_by = uniq("gone")
    ok(vols, "run", "--name", left_by, "-v", "/anon", "busybox", "true")
    anon = vols.engine().get(left_by).record.host.mounts[0].source
    ok(vols, "rm", left_by)
    user = uniq("user")
    ok(vols, "create", "--name", user, "-v", f"{used}:/u", "-v", "/in-use-anon", "busybox", "true")
    assert ok(vols, "volume", "prune", "-f", "--filter", "label=nosuch").stdout.startswith("Total reclaimed")
    r = ok(vols, "volume", "prune", "-f")
    lines = r.stdout.splitlines()
    in_use_anon = [m.source for m in vols.engine().get(user).record.host.mounts if m.target == "/in-use-anon"]
    assert lines[0] == "Deleted Volumes:" and set(lines[1:lines.index("")]) == {anon} | earlier, \
        (r.stdout, anon, unnamed, in_use_anon)
    left = set(names(vols))
    assert {named, used, unnamed} <= left and anon not in left
    assert len(names(vols, "--filter", "dangling=true")) == len(left) - 2
    assert ok(vols, "volume", "prune", input="n\n").stdout.startswith("WARNING! This will remove anonymous")
    assert set(names(vols)) == left  # answered no
    # docker's other filters: all=true is -a, label!= keeps what carries the label.
    ok(vols, "volume", "prune", "-f", "--filter", "all=true", "--filter", "label!=x")
    assert labelled in names(vols) and named not in names(vols) and unnamed not in names(vols)
    r = vols.cli("volume", "prune", "-f", "--filter", "until=24h")
    assert r.returncode == 125 and r.stderr.startswith("tuidock: invalid filter 'until=24h'")
    ok(vols, "volume", "prune", "-a", "-f")
    assert set(names(vols)) == {used} | {m.source for m in vols.engine().get(user).record.host.mounts}


def test_inspect_shows_the_mounts(vols, tmp_path):
    vol = uniq("insp")
    name = uniq("insp")
    ok(vols, "create", "--name", name, "-v", f"{vol}:/data", "-v", f"{tmp_path}:/host:ro", "-v", "/anon",
       "--tmpfs", "/run:size=64k", "--mount", "type=tmpfs,dst=/tm", "busybox", "true")
    obj = json.loads(ok(vols, "inspect", name).stdout)[0]
    by_dest = {m["Destination"]: m for m in obj["Mounts"]}
    assert set(by_dest) == {"/data", "/host", "/anon", "/tm"}
    assert by_dest["/data"] == {"Type": "volume", "Name": vol, "Source": str(mountpoint(vols, vol)),
                                "Destination": "/data", "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}
    assert by_dest["/host"] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/host", "Mode": "ro",
                                "RW": False, "Propagation": "rprivate"}
    assert len(by_dest["/anon"]["Name"]) == 64 and by_dest["/tm"]["Type"] == "tmpfs"
    hc = obj["HostConfig"]
    assert hc["Binds"] == [f"{vol}:/data", f"{tmp_path}:/host:ro"] and hc["Tmpfs"] == {"/run": "size=64k"}
    assert hc["Mounts"] == [{"Type": "tmpfs", "Target": "/tm"}] and obj["Config"]["Volumes"] == {"/anon": {}}
    assert ok(vols, "inspect", "-f", "{{range .Mounts}}{{.Destination}} {{end}}", name).stdout.split() == \
        ["/data", "/host", "/anon", "/tm"]


def test_diff_ignores_mounts_and_their_mount_points(vols, tmp_path):
    vol = uniq("diff")
    name = uniq("diff")
    ok(vols, "run", "--name", name, "-v", f"{vol}:/a/b/c", "-v", f"{tmp_path}:/srv/host", "--tmpfs", "/etc/t",
       "busybox", "sh", "-c", "echo 1 > /a/b/c/f; echo 2 > /srv/host/f; echo 3 > /etc/t/f; touch /keep")
    assert ok(vols, "diff", name).stdout == "A /keep\n"


def test_commit_leaves_mount_contents_out(vols, tmp_path):
    name = uniq("commit")
    ok(vols, "run", "--name", name, "-v", f"{uniq('commit')}:/a/b", "-v", f"{tmp_path}:/srv/host", "--tmpfs", "/t",
       "-v", "/anon", "busybox", "sh", "-c", "echo 1 > /a/b/f; echo 2 > /srv/host/f; echo 3 > /t/f; "
       "echo 4 > /anon/f; touch /keep")
    eng = vols.engine()
    img = eng.commit(name)
    try:
        top = Path(eng.images.layer_path(img.diff_ids[-1]))
        assert sorted(str(p.relative_to(top)) for p in top.rglob("*")) == ["keep"]
    finally:
        eng.images.remove(img)
        eng.images.gc(keep_layers={d for c in eng.containers() for d in c.record.layers})


def test_a_single_file_can_be_bound(vols, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("key=1\n")
    r = vols.cli("run", "--rm", "-v", f"{conf}:/etc/app.conf:ro", "busybox", "sh", "-c",
                 "cat /etc/app.conf; echo more >> /etc/app.conf")
    assert r.stdout == "key=1\n" and r.returncode == 1 and "Read-only file system" in r.stderr
    ok(vols, "run", "--rm", "-v", f"{conf}:/etc/app.conf", "busybox", "sh", "-c", "echo key=2 > /etc/app.conf")
    assert conf.read_text() == "key=2\n"


def test_a_failed_create_leaves_no_volume_behind(vols):
    taken = uniq("taken")
    ok(vols, "create", "--name", taken, "busybox", "true")
    before = set(names(vols))
    vol = uniq("never")
    r = vols.cli("create", "--name", taken, "-v", f"{vol}:/d", "-v", "/anon", "busybox", "true")
    assert r.returncode == 125 and r.stderr.count("\n") == 1 and taken in r.stderr
    r = vols.cli("run", "--rm", "-v", f"{vol}:/d", "--tmpfs", "/t:bogus", "busybox", "true")
    assert r.returncode == 125 and r.stderr == 'tuidock: invalid tmpfs option "bogus" for /t\n'
    assert set(names(vols)) == before and len(ok(vols, "ps", "-aq").stdout.split()) == 1


def test_volume_rm_of_several_removes_what_it_can(vols):
    free, busy = uniq("free"), uniq("busy")
    ok(vols, "volume", "create", free)
    ok(vols, "create", "--name", uniq("user"), "-v", f"{busy}:/b", "busybox", "true")
    r = vols.cli("volume", "rm", free, busy, "nosuch-volume")
    assert r.returncode == 125 and r.stdout == f"{free}\n"
    assert [line.split(":")[1].strip() for line in r.stderr.splitlines()] == [f"remove {busy}", "get nosuch-volume"]
    assert busy in names(vols) and free not in names(vols)


# ---- races ---------------------------------------------------------------------------------


def test_parallel_first_use_of_one_named_volume_copies_once(vols):
    vol = uniq("first")
    listing = ok(vols, "run", "--rm", "busybox", "ls", "-A", "/etc").stdout
    image = listing + ok(vols, "run", "--rm", "busybox", "cat", "/etc/passwd").stdout
    run = ("run", "--rm", "-v", f"{vol}:/etc", "busybox", "sh", "-c", "ls -A /etc; cat /etc/passwd")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: vols.cli(*run), range(4)))
    # Every container saw the whole copy (none a half-made one), and there is one volume holding it.
    assert all(r.returncode == 0 and r.stdout == image for r in outs), [(r.returncode, r.stderr) for r in outs]
    assert names(vols, "--filter", f"name={vol}") == [vol]
    data = mountpoint(vols, vol)
    assert sorted(os.listdir(data)) == sorted(listing.split())


def test_racing_volume_creates_and_rm_against_create(vols):
    vol = uniq("race")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda _: vols.cli("volume", "create", vol), range(8)))
    assert all(r.returncode == 0 and r.stdout == f"{vol}\n" for r in outs)
    assert names(vols, "--filter", f"name={vol}") == [vol]
    # `volume rm` racing `create -v`: whatever wins, a container never names a missing volume.
    for i in range(4):
        ok(vols, "volume", "create", vol)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            made = pool.submit(vols.cli, "create", "--name", f"{vol}-{i}", "-v", f"{vol}:/d", "busybox", "true")
            removed = pool.submit(vols.cli, "volume", "rm", vol)
            assert made.result().returncode == 0
            removed.result()
        assert vol in names(vols)
        ok(vols, "rm", f"{vol}-{i}")

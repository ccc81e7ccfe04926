"""The embedded default image: ``busybox:latest``, built from Debian's busybox-static.

No network is needed: the statically linked /bin/busybox becomes a one-layer
image with its applet links (``busybox --list-full``), a root and a nobody
user, and the directories a Unix root has. The tar is deterministic (fixed
owners, the binary's own mtime), so the same binary gives the same image ID
on every machine.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile

from ..errors import NotFound
from .store import MEDIA_OCI_CONFIG, MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_MANIFEST, Image, ImageStore, sha256_bytes

BUSYBOX = "/bin/busybox"
REFERENCE = "docker.io/library/busybox:latest"
DIRS = {
    "bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755, "root": 0o700,
    "sbin": 0o755, "sys": 0o755, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
    "var": 0o755, "var/spool": 0o755, "var/spool/mail": 0o755, "var/www": 0o755, "home/nobody": 0o755,
}
PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home/nobody:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65534:
"""


def version(busybox: str = BUSYBOX) -> str:
    """``BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1)``."""
    out = subprocess.run([busybox], capture_output=True, text=True).stdout
    first = out.splitlines()[0] if out else "BusyBox"
    return first.split(" multi-call")[0]


def layer_tar(busybox: str = BUSYBOX) -> tuple[bytes, int]:
    """The uncompressed layer and the mtime used for every entry."""
    st = os.stat(busybox)
    mtime = int(st.st_mtime)
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    dirs = dict(DIRS)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = kind, mode, mtime, 0, 0, "root", "root"
            if kind == tarfile.SYMTYPE:
                ti.linkname = link
            if kind == tarfile.DIRTYPE and name == "home/nobody":
                ti.uid = ti.gid = 65534
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data else None)

        for d, mode in sorted(dirs.items()):
            add(d, tarfile.DIRTYPE, mode)
        with open(busybox, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, f.read())
        for path in sorted(set(applets)):
            path = path.lstrip("/")
            if path == "bin/busybox":
                continue
            parent = os.path.dirname(path)
            if parent and parent not in dirs:
                add(parent, tarfile.DIRTYPE, 0o755)
                dirs[parent] = 0o755
            add(path, tarfile.SYMTYPE, 0o777, link="/bin/busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, PASSWD.encode())
        add("etc/group", tarfile.REGTYPE, 0o644, GROUP.encode())
    return buf.getvalue(), mtime


def build(store: ImageStore, busybox: str = BUSYBOX) -> Image:
    """Build the image and tag it ``busybox:latest``."""
    if not os.path.exists(busybox):
        raise NotFound(f"{busybox}: not installed (apt-get install busybox-static)")
    tar, mtime = layer_tar(busybox)
    diff_id = sha256_bytes(tar)
    gz = gzip.compress(tar, compresslevel=6, mtime=0)
    layer_digest = store.put_blob(gz)
    import time

    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))
    config = {
        "created": created,
        "architecture": "amd64" if os.uname().machine == "x86_64" else os.uname().machine,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": f"tuidock: {version(busybox)} from {busybox}",
                     "comment": "built locally from Debian's busybox-static"}],
    }
    cbytes = json.dumps(config, separators=(",", ":")).encode()
    cdigest = store.put_blob(cbytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": cdigest, "size": len(cbytes)},
        "layers": [{"mediaType": MEDIA_OCI_LAYER_GZIP, "digest": layer_digest, "size": len(gz)}],
    }
    return store.add(manifest, [REFERENCE])

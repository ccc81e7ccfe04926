"""The registry client against a scripted HTTP server on 127.0.0.1: the edges a real registry rarely shows.

Truncated streams, redirects to another host, endless redirects and auth
loops, oversized and lying responses. Every loop must end by its bound, and a
failed pull must leave the store as it was.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.errors import InvalidArgument
from runtime.images import distribution
from runtime.images.regconfig import Credentials
from runtime.images.registry import MAX_HOPS, DigestMismatch, Registry, RegistryError, Timeouts, Unauthorized
from runtime.images.store import ImageStore

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Scripted:
    """An HTTP server whose answers are functions of the path; it records every request."""

    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Authorization
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        me = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                me.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
                route = me.routes.get(self.path.split("?")[0]) or me.routes.get("*")
                if route is None:
                    send(self, 404, b'{"errors":[{"code":"NOT_FOUND","message":"not here"}]}')
                else:
                    route(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def send(h: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
         length: int | None = None) -> None:
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body) if length is None else length))
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Scripted]:
    s = Scripted()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def other() -> Iterator[Scripted]:
    s = Scripted()
    s.start()
    yield s
    s.stop()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    manifest: bytes
    config: bytes
    layer: bytes

    @classmethod
    def make(cls) -> Image:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            data = os.urandom(50_000)
            ti = tarfile.TarInfo("f")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        raw = buf.getvalue()
        layer = gzip.compress(raw, mtime=0)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}}).encode()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha(config), "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                           "digest": sha(layer), "size": len(layer)}]}).encode()
        return cls(manifest, config, layer)

    def serve(self, s: Scripted, layer: Handler | None = None) -> None:
        mtype = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        s.routes["/v2/"] = lambda h: send(h, 200, b"{}")
        s.routes["/v2/a/manifests/v1"] = lambda h: send(h, 200, self.manifest, mtype)
        s.routes[f"/v2/a/blobs/{sha(self.config)}"] = lambda h: send(h, 200, self.config)
        s.routes[f"/v2/a/blobs/{sha(self.layer)}"] = layer or (lambda h: send(h, 200, self.layer))


def tree(root: Path) -> list[str]:
    """The store's files; the staging area (``tmp/``) may exist but must be empty."""
    assert not list((root / "tmp").glob("*")) if (root / "tmp").exists() else True
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if not p.name.endswith("lock") and p.relative_to(root).parts[0] != "tmp")


def test_a_blob_cut_off_mid_stream_fails_and_the_store_is_unchanged(server: Scripted, tmp_path: Path) -> None:
    img = Image.make()

    def cut(h: http.server.BaseHTTPRequestHandler) -> None:
        send(h, 200, img.layer[: len(img.layer) // 2], length=len(img.layer))
        h.close_connection = True

    img.serve(server, cut)
    store = ImageStore(str(tmp_path))
    store.init()
    before = tree(tmp_path)
    with pytest.raises(RegistryError, match=r"connection closed early|truncated"):
        distribution.pull(store, f"{server.host}/a:v1", registry=Registry(server.host))
    assert tree(tmp_path) == before


def test_a_whole_pull_from_the_scripted_server(server: Scripted, tmp_path: Path) -> None:
    img = Image.make()
    img.serve(server)
    store = ImageStore(str(tmp_path))
    r = distribution.pull(store, f"{server.host}/a:v1", registry=Registry(server.host))
    assert r.digest == sha(img.manifest) and r.image.id == sha(img.config)
    assert store.has_layer(json.loads(img.config)["rootfs"]["diff_ids"][0])
    assert os.listdir(os.path.join(store.root, "tmp")) == []  # the staging area is emptied


def test_redirects_are_followed_without_the_registrys_credentials(server: Scripted, other: Scripted,
                                                                  tmp_path: Path) -> None:
    img = Image.make()
    img.serve(server, lambda h: send(h, 307, b"", {"Location": f"http://{other.host}/storage/layer"}))
    other.routes["/storage/layer"] = lambda h: send(h, 200, img.layer)
    server.routes["/v2/"] = lambda h: send(h, 401, b"", {"WWW-Authenticate": 'Basic realm="r"'})
    reg = Registry(server.host, credentials=Credentials("u", "p"))
    distribution.pull(ImageStore(str(tmp_path)), f"{server.host}/a:v1", registry=reg)
    basic = "Basic " + base64.b64encode(b"u:p").decode()
    assert any(a == basic for _, path, a in server.seen if path.startswith("/v2/a/"))
    assert other.seen == [("GET", "/storage/layer", "")]


def test_redirect_loops_end(server: Scripted) -> None:
    server.routes["/v2/"] = lambda h: send(h, 200, b"{}")
    server.routes["*"] = lambda h: send(h, 302, b"", {"Location": "/v2/again"})
    with pytest.raises(RegistryError, match=f"more than {MAX_HOPS} redirects"):
        Registry(server.host).get_manifest("a", "v1")
    assert len([s for s in server.seen if s[1] != "/v2/"]) == MAX_HOPS + 1


def test_a_registry_that_always_wants_more_scope_gets_one_retry(server: Scripted, other: Scripted) -> None:
    challenge = f'Bearer realm="http://{other.host}/token",service="svc",scope="repository:a:pull"'
    server.routes["/v2/"] = lambda h: send(h, 401, b"", {"WWW-Authenticate": challenge})
    server.routes["*"] = lambda h: send(h, 401, b"", {
        "WWW-Authenticate": challenge.replace(':pull"', ':pull,push",error="insufficient_scope"')})
    other.routes["/token"] = lambda h: send(h, 200, b'{"token": "t0k"}')
    with pytest.raises(Unauthorized, match="authentication required"):
        Registry(server.host).get_manifest("a", "v1")
    assert len([s for s in server.seen if s[1] == "/v2/a/manifests/v1"]) == 2
    assert [s[2] for s in server.seen if s[1] == "/v2/a/manifests/v1"] == ["Bearer t0k", "Bearer t0k"]
    scopes = [s[1] for s in other.seen]
    assert len(scopes) == 2 and "scope=repository%3Aa%3Apull%2Cpush" in scopes[1]


def test_basic_credentials_refused_once_is_the_end(server: Scripted) -> None:
    server.routes["*"] = lambda h: send(h, 401, b"", {"WWW-Authenticate": 'Basic realm="r"'})
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        Registry(server.host, credentials=Credentials("u", "wrong")).get_manifest("a", "v1")
    assert len([s for s in server.seen if s[1] == "/v2/a/manifests/v1"]) == 1


def test_oversized_and_lying_manifests(server: Scripted) -> None:
    img = Image.make()
    server.routes["/v2/"] = lambda h: send(h, 200, b"{}")
    server.routes["/v2/a/manifests/big"] = lambda h: send(h, 200, b"", length=5 << 20)
    server.routes["/v2/a/manifests/lie"] = lambda h: send(h, 200, img.manifest, {
        "Docker-Content-Digest": sha(b"something else")})
    reg = Registry(server.host)
    with pytest.raises(RegistryError, match="larger than the limit"):
        reg.get_manifest("a", "big")
    with pytest.raises(DigestMismatch, match="registry says"):
        reg.get_manifest("a", "lie")
    with pytest.raises(InvalidArgument, match="not a sha256 digest"):
        reg.get_manifest("a", "sha256:1234")


def test_a_slow_drip_manifest_is_bounded_by_the_request_timeout(server: Scripted) -> None:
    import time

    def drip(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    server.routes["/v2/"] = lambda h: send(h, 200, b"{}")
    server.routes["/v2/a/manifests/v1"] = drip
    start = time.monotonic()
    with pytest.raises(RegistryError, match="timed out"):
        Registry(server.host, timeouts=Timeouts(connect=1, read=1, request=1.5)).get_manifest("a", "v1")
    assert time.monotonic() - start < 4


# ---- cancelling a pull (the TUI's worker thread) ------------------------------------------------


@pytest.mark.parametrize("keep_alive", [True, False])
def test_cancel_from_another_thread_ends_a_read_stalled_mid_blob(server: Scripted, tmp_path: Path,
                                                                 keep_alive: bool) -> None:
    """The registry sends half a layer and stalls: cancel.set() ends the pull long before the read timeout.

    With ``Connection: close`` http.client hands the socket to the response and closes the connection
    object: the socket must stay cancellable all the same.
    """
    import time

    img = Image.make()
    release = threading.Event()

    def stall(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(img.layer)))
        if not keep_alive:
            h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(img.layer[: len(img.layer) // 2])
        h.wfile.flush()
        release.wait(30)
        h.close_connection = True

    img.serve(server, stall)
    store = ImageStore(str(tmp_path))
    store.init()
    before = tree(tmp_path)
    cancel = distribution.Cancel()
    bytes_seen = threading.Event()
    events: list[distribution.ProgressEvent] = []
    outcome: list[BaseException | distribution.PullResult] = []

    def progress(e: distribution.ProgressEvent) -> None:
        events.append(e)
        if isinstance(e, distribution.LayerEvent) and e.phase is distribution.Phase.DOWNLOADING and e.current:
            bytes_seen.set()

    def worker() -> None:
        try:
            outcome.append(distribution.pull(store, f"{server.host}/a:v1", progress=progress, cancel=cancel,
                                             registry=Registry(server.host, timeouts=Timeouts(read=30))))
        except BaseException as e:  # handed to the test thread
            outcome.append(e)

    t = threading.Thread(target=worker)
    t.start()
    try:
        assert bytes_seen.wait(10), events
        time.sleep(0.5)  # the worker has read all there is and now waits in recv(2)
        start = time.monotonic()
        cancel.set()
        t.join(10)
        took = time.monotonic() - start
    finally:
        release.set()
        t.join(10)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], distribution.Cancelled), outcome
    assert str(outcome[0]) == f"image {server.host}/a:v1: pull cancelled"
    assert took < 10, took  # well below the 30 s read timeout: the cancel woke the read
    assert tree(tmp_path) == before
    assert store.find(f"{server.host}/a:v1") is None


def test_a_progress_callback_that_raises_stops_the_pull_with_its_own_error(server: Scripted, tmp_path: Path) -> None:
    img = Image.make()
    img.serve(server)
    store = ImageStore(str(tmp_path))
    store.init()
    before = tree(tmp_path)

    class Stop(Exception):
        pass

    def progress(e: distribution.ProgressEvent) -> None:
        if isinstance(e, distribution.LayerEvent) and e.phase is distribution.Phase.EXTRACTING:
            raise Stop()

    with pytest.raises(Stop):
        distribution.pull(store, f"{server.host}/a:v1", registry=Registry(server.host), progress=progress)
    assert tree(tmp_path) == before  # the layer blob had been downloaded and verified: it went with the staging


def test_a_cancel_set_before_the_pull_sends_nothing_and_one_after_the_commit_is_too_late(
        server: Scripted, tmp_path: Path) -> None:
    img = Image.make()
    img.serve(server)
    store = ImageStore(str(tmp_path))
    store.init()
    cancel = distribution.Cancel()
    cancel.set()
    with pytest.raises(distribution.Cancelled, match="pull cancelled"):
        distribution.pull(store, f"{server.host}/a:v1", registry=Registry(server.host), cancel=cancel)
    assert server.seen == []

    late = distribution.Cancel()
    seen: list[str] = []

    def progress(e: distribution.ProgressEvent) -> None:
        if isinstance(e, distribution.StatusEvent):
            seen.append(e.text)
            if e.text.startswith("Digest:"):
                late.set()  # the image is committed by now: the pull completes

    r = distribution.pull(store, f"{server.host}/a:v1", registry=Registry(server.host), progress=progress, cancel=late)
    assert store.get(f"{server.host}/a:v1").id == r.image.id == sha(img.config)
    assert seen[-1] == f"Status: Downloaded newer image for {server.host}/a:v1"


@pytest.mark.parametrize("stall", ["tls-probe", "connect"])
def test_cancel_ends_a_pull_that_waits_to_connect_or_in_its_tls_probe(tmp_path: Path, stall: str) -> None:
    """Before any HTTP: a loopback registry that accepts and stays silent (the pull waits in the TLS
    handshake of its HTTPS probe), or whose accept queue is full (the TCP connect never completes)."""
    import socket
    import time

    from .cancelhelp import cancel_when_ready

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0 if stall == "connect" else 8)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    if stall == "connect":
        for _ in range(3):  # the queue holds one; the kernel drops later SYNs and connect(2) keeps waiting
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            held.append(s)
    store = ImageStore(str(tmp_path))
    store.init()
    before = tree(tmp_path)
    cancel = distribution.Cancel()
    try:
        outcome, took = cancel_when_ready(
            lambda: distribution.pull(store, f"127.0.0.1:{port}/a:v1", cancel=cancel,
                                      registry=Registry(f"127.0.0.1:{port}", timeouts=Timeouts(connect=30))),
            cancel, lambda: time.sleep(0.5))  # by then the pull waits in the phase under test, for good
    finally:
        for s in held:
            s.close()
        listener.close()
    assert isinstance(outcome, distribution.Cancelled), outcome
    assert took < 10, took  # well below the 30 s connect timeout: the cancel aborted the connect
    assert tree(tmp_path) == before

"""``build``: a Dockerfile's steps, each an image, RUN steps inside real containers of this runtime.

As docker's classic builder: every instruction makes an image whose parent is
the previous one; RUN, COPY and ADD add a layer (RUN's is the upper layer
of the container it ran in, written by the same code as ``commit``; COPY's
and ADD's are the files staged at their destination), every other
instruction only changes the config and is recorded in the history as an
empty layer. Those step images are the build cache: a step is skipped when
an image exists whose parent is the current one and that was made by the
same instruction (``container_config.Cmd``: the instruction text after
substitution, the values of the build arguments a RUN sees, the content
hash of the files a COPY or ADD copies). They are listed by ``images -a``
and go away with the image they led to (``rmi``).

Progress is reported through a callback with :class:`BuildEvent` values
(the CLI prints docker's lines; the TUI streams them from a worker thread).
A failing step leaves no container and no staged file behind; the images of
the steps that succeeded stay, as cache.

A :class:`~runtime.cancel.Cancel` set from another thread (the TUI's escape,
the CLI's Ctrl-C) stops the build before the next instruction, and during a
RUN: the connection relaying the container's output is watched by it, so
``set()`` ends the relay at once; the container is then removed (killed
first) like any failed step's, and the build raises
:class:`~runtime.cancel.Cancelled`. As after a failure, the images of the
steps already done stay, as cache; the cancelled step leaves nothing.
"""

from __future__ import annotations

import copy
import enum
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import control
from ..cancel import Cancel
from ..errors import InvalidArgument, NotFound, TuidockError
from ..images import configedit, dockerfile, reference, shellword
from ..images import layers as layerlib
from ..images.dockerfile import Instruction, Stage
from ..images.ingest import Ingest, host_arch
from ..images.rootview import RootView
from ..images.store import Image, Layer
from ..oci.spec import DEFAULT_PATH
from . import buildcopy
from .commit import init_whiteouts, layer_from_upper, mount_targets, now_rfc3339, placeholder_skips
from .engine import Engine
from .model import HostConfig, RunOptions

NOP = "#(nop) "
SCRATCH = "scratch"
# Build arguments docker accepts without an ARG instruction (proxies).
PREDEFINED_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                   "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}


class BuildError(TuidockError):
    """A step failed; ``exit_code`` is the failing command's, as docker's classic builder reports it."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class EventKind(enum.Enum):
    STEP = "step"  # "Step 2/5 : RUN make"
    CACHED = "cached"  # " ---> Using cache (CACHED)"
    RUNNING = "running"  # " ---> Running in 3f2a9c1b7d0e"
    OUTPUT = "output"  # bytes a RUN wrote (data, stream)
    REMOVED = "removed"  # "Removing intermediate container 3f2a9c1b7d0e"
    IMAGE = "image"  # " ---> 7d3b2c1a0f9e": the step's image
    NOTE = "note"  # anything else worth a line ("# Executing 1 build trigger")
    WARNING = "warning"
    BUILT = "built"  # "Successfully built 7d3b2c1a0f9e"
    TAGGED = "tagged"  # "Successfully tagged app:latest"


@dataclass(frozen=True)
class BuildEvent:
    kind: EventKind
    text: str = ""
    step: int = 0
    total: int = 0
    data: bytes = b""
    stream: int = 1  # 1 stdout, 2 stderr (OUTPUT)

    def line(self) -> str:
        """docker's classic text for the event (OUTPUT events carry bytes instead)."""
        k = self.kind
        if k is EventKind.STEP:
            return f"Step {self.step}/{self.total} : {self.text}"
        if k is EventKind.CACHED:
            # docker's classic builder says "Using cache", BuildKit "CACHED": scripts look for either.
            return " ---> Using cache (CACHED)"
        if k is EventKind.RUNNING:
            return f" ---> Running in {self.text}"
        if k is EventKind.REMOVED:
            return f"Removing intermediate container {self.text}"
        if k is EventKind.IMAGE:
            return f" ---> {self.text}"
        if k is EventKind.BUILT:
            return f"Successfully built {self.text}"
        if k is EventKind.TAGGED:
            return f"Successfully tagged {self.text}"
        if k is EventKind.WARNING:
            return f"[Warning] {self.text}"
        return self.text


@dataclass(frozen=True)
class BuildOptions:
    context: str
    dockerfile: str | None = None  # a path (default CONTEXT/Dockerfile); "-" with ``dockerfile_text``
    dockerfile_text: str | None = None
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    target: str | None = None
    network: str = "none"
    labels: dict[str, str] = field(default_factory=dict)
    limits: layerlib.Limits = field(default_factory=layerlib.Limits)


@dataclass(frozen=True)
class BuildResult:
    image: Image
    tags: tuple[str, ...]
    steps: int
    cached: int


@dataclass
class _State:
    """Where a stage stands: its current image (config and layers), ARGs in scope."""

    image_id: str
    config: dict[str, Any]
    layers: list[Layer]
    args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False

    def env(self) -> dict[str, str]:
        """What variables expand against: ARG values, then ENV (which wins, as in docker)."""
        return {**self.args, **configedit.env_map((self.config.get("config") or {}).get("Env"))}


class Builder:
    def __init__(self, engine: Engine, opts: BuildOptions, progress: Callable[[BuildEvent], None] | None = None,
                 cancel: Cancel | None = None) -> None:
        self.engine = engine
        self.cancel = cancel
        self.store = engine.images
        self.opts = opts
        self.progress = progress or (lambda e: None)
        self.step = 0
        self.total = 0
        self.cached = 0
        self.used_args: set[str] = set()
        self.stage_images: dict[str, str] = {}  # stage name or index -> final image id
        self.children: dict[str, list[Image]] | None = None
        self.escape = "\\"
        self.ignore: str | None = None

    # ---- events ---------------------------------------------------------------

    def emit(self, kind: EventKind, text: str = "", **kw: Any) -> None:
        self.progress(BuildEvent(kind, text, self.step, self.total, **kw))

    def check_cancel(self) -> None:
        if self.cancel is not None:
            self.cancel.check(f"build {self.opts.tags[0] if self.opts.tags else self.opts.context}")

    # ---- the Dockerfile --------------------------------------------------------

    def read_dockerfile(self) -> str:
        o = self.opts
        if o.dockerfile_text is not None:
            return o.dockerfile_text
        path = o.dockerfile or os.path.join(o.context, "Dockerfile")
        if o.dockerfile and not os.path.isabs(path) and not os.path.exists(path):
            path = os.path.join(o.context, o.dockerfile)
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"build: Dockerfile {path}: no such file") from None
        except IsADirectoryError:
            raise InvalidArgument(f"build: Dockerfile {path}: is a directory") from None

    def ignore_text(self) -> str | None:
        try:
            with open(os.path.join(self.opts.context, ".dockerignore"), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return None

    # ---- the cache ---------------------------------------------------------------

    def _index_children(self) -> dict[str, list[Image]]:
        if self.children is None:
            self.children = {}
            for img in self.store.images():
                p = img.raw_config.get("parent")
                self.children.setdefault(p if isinstance(p, str) else "", []).append(img)
        return self.children

    def cache_lookup(self, parent: str, key: list[str]) -> Image | None:
        if self.opts.no_cache:
            return None
        for img in self._index_children().get(parent, []):
            cc = img.raw_config.get("container_config") or {}
            if cc.get("Cmd") == key and img.raw_config.get("tuidock_build") == 1 and all(
                    self.store.has_layer(d) for d in img.diff_ids):
                return img
        return None

    def remember(self, img: Image) -> None:
        p = img.raw_config.get("parent")
        self._index_children().setdefault(p if isinstance(p, str) else "", []).append(img)

    # ---- committing a step ---------------------------------------------------------

    def commit_step(self, st: _State, tx: Ingest | None, key: list[str], created_by: str, new_cfg: dict[str, Any],
                    layer: Layer | None, container: str = "") -> Image:
        raw = copy.deepcopy(st.config)
        now = now_rfc3339()
        raw["config"] = new_cfg
        raw["created"] = now
        raw["container_config"] = {"Cmd": key}
        raw["tuidock_build"] = 1
        if st.image_id:
            raw["parent"] = st.image_id
        else:
            raw.pop("parent", None)
        if container:
            raw["container"] = container
        else:
            raw.pop("container", None)
        entry: dict[str, Any] = {"created": now, "created_by": created_by}
        if layer is None:
            entry["empty_layer"] = True
        raw["history"] = list(raw.get("history") or []) + [entry]
        layers = st.layers + ([layer] if layer else [])
        raw["rootfs"] = {"type": "layers", "diff_ids": [x.diff_id for x in layers]}
        if tx is None:
            with Ingest(self.store, self.opts.limits, "build") as t:
                img = t.commit(raw, layers, [])
        else:
            img = tx.commit(raw, layers, [])
        self.remember(img)
        return img

    def advance(self, st: _State, img: Image) -> None:
        st.image_id = img.id
        st.config = copy.deepcopy(img.raw_config)
        st.layers = list(img.layers)
        self.emit(EventKind.IMAGE, img.short_id)

    def view(self, layers: list[Layer]) -> RootView:
        return RootView([self.store.layer_path(x.diff_id) for x in reversed(layers)])

    # ---- instructions -----------------------------------------------------------------

    def from_(self, stage: Stage, meta: dict[str, str]) -> _State:
        name = shellword.expand(stage.base, meta, self.escape)
        if not name:
            raise BuildError(f"FROM {stage.base}: the base name expands to nothing")
        if name.lower() == SCRATCH:
            cfg = {"architecture": host_arch(), "os": "linux", "config": {"Env": [DEFAULT_PATH]},
                   "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
            return _State("", cfg, [])
        ident = self.stage_images.get(name.lower())
        img = self.store.find(ident) if ident else self.store.find(name)
        if img is None:
            raise NotFound(f"image {name}: not found in the store (pull, load or build it first)")
        self.emit(EventKind.IMAGE, img.short_id)
        st = _State(img.id, copy.deepcopy(img.raw_config), list(img.layers))
        triggers = (st.config.get("config") or {}).get("OnBuild") or []
        if triggers:
            self.emit(EventKind.NOTE, f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}")
            st.config.setdefault("config", {})["OnBuild"] = None
            for text in triggers:
                self.dispatch(st, dockerfile.parse_instruction(text, stage.from_.line, self.escape), self.ignore)
        return st

    def arg(self, st: _State, ins: Instruction, meta: dict[str, str]) -> None:
        for name, default in ins.pairs:
            if name in self.opts.build_args:
                value: str | None = self.opts.build_args[name]
            elif default is not None:
                value = shellword.expand(default, st.env(), self.escape)
            else:
                value = meta.get(name)
            self.used_args.add(name)
            if value is not None:
                st.args[name] = value
            else:
                st.args.pop(name, None)
        text = "ARG " + " ".join(n + (f"={d}" if d is not None else "") for n, d in ins.pairs)
        self.metadata_commit(st, text, st.config.get("config") or {})

    def metadata_commit(self, st: _State, text: str, new_cfg: dict[str, Any]) -> None:
        key = ["/bin/sh", "-c", NOP + text]
        hit = self.cache_lookup(st.image_id, key)
        if hit is not None:
            self.cached += 1
            self.emit(EventKind.CACHED)
            self.advance(st, hit)
            return
        img = self.commit_step(st, None, key, f"/bin/sh -c {NOP} {text}", new_cfg, None)
        self.advance(st, img)

    def run(self, st: _State, ins: Instruction) -> None:
        cfg = st.config.get("config") or {}
        argv = configedit.command_of(ins, cfg)
        if not argv:
            raise BuildError(f"RUN: empty command (line {ins.line})")
        env_cfg = configedit.env_map(cfg.get("Env"))
        # Build arguments reach RUN as environment (ENV wins), and are part of its cache key.
        run_args = {k: v for k, v in st.args.items() if k not in env_cfg}
        key = ([f"|{len(run_args)}"] + [f"{k}={v}" for k, v in run_args.items()] if run_args else []) + argv
        hit = self.cache_lookup(st.image_id, key)
        if hit is not None:
            self.cached += 1
            self.emit(EventKind.CACHED)
            self.advance(st, hit)
            return
        if not st.image_id:
            raise BuildError("RUN: the stage has no file system yet (FROM scratch): nothing to run")
        opts = RunOptions(image=st.image_id, command=tuple(argv), entrypoint=(),
                          env=tuple(f"{k}={v}" for k, v in run_args.items()),
                          labels={"org.tuidock.build": "intermediate"},
                          host=HostConfig(network=self.opts.network))
        cid, conn = self.engine.run(opts, attach={"stdin": False})
        try:
            self.emit(EventKind.RUNNING, cid[:12])
            code = self._relay(conn)
            self.check_cancel()  # the relay ended because of it: the container may still run (removed below)
            info = self.engine.wait(cid)
            if code is None:
                st_ = info.state
                code = st_.exit_code if st_ and st_.exit_code is not None else 125
            if code != 0:
                raise BuildError(f"The command '{' '.join(key)}' returned a non-zero code: {code}", code)
            with Ingest(self.store, self.opts.limits, "build") as tx:
                paths = self.engine.paths(cid)
                skips = placeholder_skips(paths.upper, mount_targets(self.engine, info))
                skips |= init_whiteouts(paths.upper, [self.store.layer_path(x.diff_id) for x in reversed(st.layers)])
                layer = layer_from_upper(tx, paths.upper, skips)
                img = self.commit_step(st, tx, key, " ".join(key), cfg, layer, container=cid)
        finally:
            try:
                self.engine.remove(cid, force=True, volumes=True)
            except TuidockError:
                pass
            self.emit(EventKind.REMOVED, cid[:12])
        self.advance(st, img)

    def _relay(self, conn: control.Connection) -> int | None:
        code: int | None = None
        if self.cancel is not None:
            self.cancel.watch(conn.sock)  # set() shuts it down: frames() sees end of file
        try:
            for kind, payload in conn.frames():
                if kind == control.STDOUT:
                    self.emit(EventKind.OUTPUT, data=payload, stream=1)
                elif kind == control.STDERR:
                    self.emit(EventKind.OUTPUT, data=payload, stream=2)
                elif kind == control.EXIT:
                    obj = control.decode(payload)
                    if obj.get("exitCode") is not None:
                        code = int(obj["exitCode"])
        finally:
            if self.cancel is not None:
                self.cancel.forget(conn.sock)
            conn.close()
        return code

    def copy(self, st: _State, ins: Instruction, ignore: str | None) -> None:
        src = ins.flag("from")
        env = st.env()
        if ins.keyword == "ADD" and src:
            raise BuildError("ADD does not take --from (use COPY --from)")
        if src:
            name = shellword.expand(src, env, self.escape)
            ident = self.stage_images.get(name.lower())
            img = self.store.find(ident) if ident else self.store.find(name)
            if img is None:
                raise NotFound(f"COPY --from={name}: no stage or image of that name in the store")
            tree = buildcopy.Tree(self.view(list(img.layers)), None, f"--from={name}")
        else:
            tree = buildcopy.context_tree(self.opts.context, ignore)
        cfg = st.config.get("config") or {}
        p = buildcopy.plan(ins, tree, env, cfg.get("WorkingDir") or "/", self.escape)
        key = ["/bin/sh", "-c", NOP + p.created_by]
        hit = self.cache_lookup(st.image_id, key)
        if hit is not None:
            self.cached += 1
            self.emit(EventKind.CACHED)
            self.advance(st, hit)
            return
        with Ingest(self.store, self.opts.limits, "build") as tx:
            staging = tx.scratch("copy")
            os.mkdir(staging, 0o755)
            buildcopy.stage(p, staging, self.view(st.layers), self.opts.limits)
            layer = layer_from_upper(tx, staging, set())
            img = self.commit_step(st, tx, key, f"/bin/sh -c {NOP}{p.created_by}", cfg, layer)
        self.advance(st, img)

    def dispatch(self, st: _State, ins: Instruction, ignore: str | None = None, meta: dict[str, str] | None = None) -> None:
        self.check_cancel()
        kw = ins.keyword
        if kw == "RUN":
            self.run(st, ins)
        elif kw in ("COPY", "ADD"):
            self.copy(st, ins, ignore)
        elif kw == "ARG":
            self.arg(st, ins, meta or {})
        elif kw in configedit.METADATA:
            cfg = st.config.get("config") or {}
            new_cfg, text = configedit.apply(cfg, ins, st.env(), self.escape, st.cmd_set)
            if kw == "CMD":
                st.cmd_set = True
            if kw == "MAINTAINER":
                st.config["author"] = text[len("MAINTAINER "):]
            self.metadata_commit(st, text, new_cfg)
        elif kw == "FROM":
            raise BuildError(f"dockerfile line {ins.line}: FROM inside a stage")
        else:
            raise BuildError(f"dockerfile line {ins.line}: {kw} is not supported")

    # ---- the whole build ----------------------------------------------------------------

    def build(self) -> BuildResult:
        df = dockerfile.parse(self.read_dockerfile())
        self.escape = df.escape
        stages = df.stages()
        if self.opts.target:
            names = [s.name for s in stages]
            if self.opts.target.lower() not in names:
                raise InvalidArgument(f"build: target stage {self.opts.target!r} could not be found")
            stages = stages[: names.index(self.opts.target.lower()) + 1]
        tags = [str(reference.parse(t)) for t in self.opts.tags]
        self.ignore = ignore = self.ignore_text()
        meta_ins = df.meta_args
        self.total = len(meta_ins) + sum(1 + len(s.instructions) for s in stages) + (1 if self.opts.labels else 0)
        meta: dict[str, str] = {}
        for ins in meta_ins:
            self.step += 1
            self.emit(EventKind.STEP, ins.original)
            for name, default in ins.pairs:
                self.used_args.add(name)
                if name in self.opts.build_args:
                    meta[name] = self.opts.build_args[name]
                elif default is not None:
                    meta[name] = shellword.expand(default, meta, self.escape)
        st: _State | None = None
        for stage in stages:
            self.check_cancel()
            self.step += 1
            self.emit(EventKind.STEP, stage.from_.original)
            st = self.from_(stage, meta)
            for ins in stage.instructions:
                self.step += 1
                self.emit(EventKind.STEP, ins.original)
                try:
                    self.dispatch(st, ins, ignore, meta)
                except (shellword.SubstitutionError, buildcopy.CopyError) as e:
                    raise BuildError(f"dockerfile line {ins.line}: {e}") from None
            if not st.image_id:
                # FROM scratch and nothing else: an image with no layers.
                self.metadata_commit(st, "FROM scratch", st.config.get("config") or {})
            self.stage_images[str(stage.index)] = st.image_id
            if stage.name:
                self.stage_images[stage.name] = st.image_id
        assert st is not None
        if self.opts.labels:
            self.step += 1
            text = "LABEL " + " ".join(f"{k}={v}" for k, v in sorted(self.opts.labels.items()))
            self.emit(EventKind.STEP, text)
            cfg = st.config.get("config") or {}
            self.metadata_commit(st, text, {**cfg, "Labels": {**(cfg.get("Labels") or {}), **self.opts.labels}})
        unused = sorted(set(self.opts.build_args) - self.used_args - PREDEFINED_ARGS)
        if unused:
            self.emit(EventKind.WARNING, f"One or more build-args [{' '.join(unused)}] were not consumed")
        self.check_cancel()  # the last chance: after this the build is done and tagged
        final = self.store.get(st.image_id)
        self.emit(EventKind.BUILT, final.short_id)
        for t in tags:
            self.store.tag(final, t)
            self.emit(EventKind.TAGGED, reference.parse(t).familiar)
        return BuildResult(self.store.get(final.id), tuple(tags), self.step, self.cached)


def build(engine: Engine, opts: BuildOptions, progress: Callable[[BuildEvent], None] | None = None,
          cancel: Cancel | None = None) -> BuildResult:
    """Run a build; ``progress`` receives every event (from the calling thread); ``cancel`` stops it."""
    engine.setup()
    return Builder(engine, opts, progress, cancel).build()

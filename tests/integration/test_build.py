"""``build``: Dockerfile instructions, RUN in real containers, one layer per file-system step, the cache,
.dockerignore, --build-arg, -f, FROM scratch, and the typed engine API the TUI streams a build log from."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from runtime.engine.build import BuildOptions, EventKind

from .imagehelp import own_images  # noqa: F401

pytestmark = [pytest.mark.requires("root", "overlay", "busybox"), pytest.mark.usefixtures("own_images")]

DOCKERFILE = """\
FROM busybox
ARG GREETING=hello
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY --chown=1000:1001 a.txt ./
ADD sub /srv/sub
RUN echo "$GREETING from RUN" > made.txt && rm /bin/vi
COPY . /ctx/
EXPOSE 8080/tcp 53/udp
LABEL tier=back version="1 2"
USER nobody
VOLUME /data
ENTRYPOINT ["/bin/cat"]
CMD ["made.txt"]
"""


def context(tmp_path, dockerfile: str = DOCKERFILE) -> str:
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "a.txt").write_text("from the context\n")
    (ctx / "sub" / "b.txt").write_text("in sub\n")
    (ctx / "secret.key").write_text("never copied\n")
    (ctx / "logs").mkdir()
    (ctx / "logs" / "big.log").write_text("noise\n")
    (ctx / ".dockerignore").write_text("# comment\nsecret.key\nlogs\n")
    (ctx / "Dockerfile").write_text(dockerfile)
    return str(ctx)


def build(env, *args: str) -> tuple[int, str, str]:
    r = env.cli("build", *args, timeout=180)
    return r.returncode, r.stdout, r.stderr


def test_build_runs_every_instruction(env, tmp_path):
    ctx = context(tmp_path)
    code, out, err = build(env, "-t", "buildtest/app:1", "--build-arg", "GREETING=hi", ctx)
    assert code == 0, err
    assert "Step 1/14 : FROM busybox" in out and "Step 14/14 : CMD [\"made.txt\"]" in out
    assert out.rstrip().endswith("Successfully tagged buildtest/app:1")
    eng = env.engine()
    img = eng.images.get("buildtest/app:1")
    bb = eng.images.get("busybox")
    # One layer per file-system step (COPY, ADD, RUN, COPY) on busybox's, which is shared, not copied.
    assert len(img.layers) == len(bb.layers) + 4
    assert img.diff_ids[: len(bb.layers)] == bb.diff_ids
    assert [h.empty_layer for h in img.history[len(bb.history):]] == \
        [True, True, True, False, False, False, False, True, True, True, True, True, True]
    cfg = img.raw_config["config"]
    assert cfg["Entrypoint"] == ["/bin/cat"] and cfg["Cmd"] == ["made.txt"]
    assert cfg["WorkingDir"] == "/srv/app" and cfg["User"] == "nobody"
    assert "APP_HOME=/srv/app" in cfg["Env"] and not any(e.startswith("GREETING=") for e in cfg["Env"])
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"tier": "back", "version": "1 2"}
    assert cfg["Volumes"] == {"/data": {}}
    # ENTRYPOINT (exec form) + CMD: the image prints the file RUN wrote with the build argument.
    r = env.cli("run", "--rm", "--network", "none", "buildtest/app:1")
    assert (r.returncode, r.stdout) == (0, "hi from RUN\n"), r.stderr
    script = ("id -u; stat -c '%u:%g %n' a.txt; cat /srv/sub/b.txt; ls -A /ctx | tr '\\n' ' '; echo; "
              "test -e /bin/vi || echo vi-gone")
    r = env.cli("run", "--rm", "--network", "none", "--entrypoint", "sh", "buildtest/app:1", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["65534", "1000:1001 a.txt", "in sub", ".dockerignore Dockerfile a.txt sub ",
                                     "vi-gone"]


def test_build_cache_is_keyed_by_parent_instruction_and_file_contents(env, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nENV A=1\nRUN echo run > /r\nCOPY a.txt /a\nRUN cat /a > /b\n")
    code, first, err = build(env, "-t", "buildtest/cache:1", ctx)
    assert code == 0, err
    assert "CACHED" not in first
    code, again, err = build(env, "-t", "buildtest/cache:1", ctx)
    assert code == 0, err
    assert again.count(" ---> Using cache (CACHED)") == 4
    assert "Running in" not in again
    first_id = env.engine().images.get("buildtest/cache:1").id
    assert env.engine().images.get("buildtest/cache:1").id == first_id
    # A copied file's content changes: steps before the COPY are cached, the COPY and what follows are not.
    with open(os.path.join(ctx, "a.txt"), "w") as f:
        f.write("changed\n")
    code, changed, err = build(env, "-t", "buildtest/cache:1", ctx)
    assert code == 0, err
    assert changed.count("CACHED") == 2 and changed.count("Running in") == 1
    r = env.cli("run", "--rm", "--network", "none", "buildtest/cache:1", "cat", "/b")
    assert r.stdout == "changed\n"
    # A different instruction text on the same parent is a miss; --no-cache misses everything.
    code, out, err = build(env, "--no-cache", "-t", "buildtest/cache:2", ctx)
    assert code == 0 and "CACHED" not in out, err
    # A build argument a RUN sees is part of its key.
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nARG V\nRUN echo $V > /v\n")
    assert build(env, "-t", "buildtest/cache:3", "--build-arg", "V=1", ctx)[0] == 0
    code, out, err = build(env, "-t", "buildtest/cache:3", "--build-arg", "V=2", ctx)
    assert code == 0 and out.count("CACHED") == 1 and "Running in" in out, out
    r = env.cli("run", "--rm", "--network", "none", "buildtest/cache:3", "cat", "/v")
    assert r.stdout == "2\n"


def test_shell_and_exec_forms_of_entrypoint_and_cmd(env, tmp_path):
    cases = {
        # exec ENTRYPOINT + exec CMD: CMD gives default arguments, run's arguments replace them.
        "e1": ('ENTRYPOINT ["echo", "ep"]\nCMD ["default"]', [], "ep default\n"),
        "e2": ('ENTRYPOINT ["echo", "ep"]\nCMD ["default"]', ["given"], "ep given\n"),
        # shell-form ENTRYPOINT: /bin/sh -c, and CMD and run's arguments are ignored.
        "e3": ('ENTRYPOINT echo shell $HOME\nCMD ["ignored"]', ["ignored too"], "shell /root\n"),
        # shell-form CMD alone: /bin/sh -c with variables expanded at run time.
        "e4": ('ENV WHO=world\nCMD echo hello $WHO', [], "hello world\n"),
        # exec ENTRYPOINT + shell CMD: the shell form's words become arguments.
        "e5": ('ENTRYPOINT ["echo"]\nCMD echo x', [], "/bin/sh -c echo x\n"),
    }
    for name, (body, args, want) in cases.items():
        ctx = tmp_path / name
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(f"FROM busybox\n{body}\n")
        code, _, err = build(env, "-q", "-t", f"buildtest/forms:{name}", str(ctx))
        assert code == 0, err
        r = env.cli("run", "--rm", "--network", "none", f"buildtest/forms:{name}", *args)
        assert (r.returncode, r.stdout) == (0, want), (name, r.stderr)


def test_from_scratch_with_dockerfile_elsewhere(env, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy("/bin/busybox", ctx / "busybox")
    other = tmp_path / "elsewhere.Dockerfile"
    other.write_text('FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "from scratch"]\n')
    code, out, err = build(env, "-f", str(other), "-t", "buildtest/scratch:1", str(ctx))
    assert code == 0, err
    img = env.engine().images.get("buildtest/scratch:1")
    assert len(img.layers) == 1
    r = env.cli("run", "--rm", "--network", "none", "buildtest/scratch:1")
    assert (r.returncode, r.stdout) == (0, "from scratch\n"), r.stderr


def test_a_failing_run_reports_its_exit_code_and_leaves_no_container(env, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nRUN echo before\nRUN echo oops >&2; exit 3\nRUN echo never\n")
    code, out, err = build(env, "-t", "buildtest/fail:1", ctx)
    assert code == 3, (out, err)
    assert "oops" in out
    assert "returned a non-zero code: 3" in err
    assert "Step 4/4" not in out
    assert env.cli("ps", "-aq").stdout == ""
    assert env.engine().images.find("buildtest/fail:1") is None
    # Bad input is one line, exit 125.
    code, _, err = build(env, "-f", "nosuch", ctx)
    assert code == 125 and "Dockerfile" in err
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\nFROBNICATE x\n")
    code, _, err = build(env, ctx)
    assert code != 0 and "FROBNICATE" in err and "Traceback" not in err


def test_engine_build_streams_events_to_a_callback(env, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nRUN echo out; echo err >&2\nLABEL a=b\n")
    events = []
    eng = env.engine()
    result = eng.build(BuildOptions(context=ctx, tags=("buildtest/events:1",), no_cache=True), events.append)
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.STEP and events[0].line() == "Step 1/3 : FROM busybox"
    assert EventKind.RUNNING in kinds and EventKind.REMOVED in kinds
    output = {e.stream: b"" for e in events if e.kind is EventKind.OUTPUT}
    for e in events:
        if e.kind is EventKind.OUTPUT:
            output[e.stream] += e.data
    assert output == {1: b"out\n", 2: b"err\n"}
    assert kinds[-2:] == [EventKind.BUILT, EventKind.TAGGED]
    assert result.image.repo_tags == ("docker.io/buildtest/events:1",) and result.steps == 3
    # The step images are there, as cache, and leave with the image (rmi prunes untagged parents).
    summaries = {s.image.id: s for s in eng.image_summaries()}
    assert summaries[result.image.id].used_by == 0
    assert summaries[result.image.id].parent in summaries
    records, errors = eng.remove_images(["buildtest/events:1"])
    assert not errors
    assert sum(1 for r in records if r.deleted.startswith("sha256:")) >= 2
    assert json.loads(env.cli("image", "inspect", result.image.id).stdout or "[]") == []


def test_add_unpacks_local_archives_and_dockerignore_exceptions(env, tmp_path):
    import io
    import tarfile

    ctx = tmp_path / "ctx"
    (ctx / "docs").mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"unpacked\n"
        ti = tarfile.TarInfo("pkg/inside.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    (ctx / "pkg.tar.gz").write_bytes(buf.getvalue())
    (ctx / "docs" / "keep.md").write_text("kept\n")
    (ctx / "docs" / "drop.md").write_text("dropped\n")
    (ctx / ".dockerignore").write_text("docs/*.md\n!docs/keep.md\n")
    (ctx / "Dockerfile").write_text("FROM busybox\nADD pkg.tar.gz /opt/\nCOPY docs /docs/\n")
    code, _, err = build(env, "-q", "-t", "buildtest/add:1", str(ctx))
    assert code == 0, err
    r = env.cli("run", "--rm", "--network", "none", "buildtest/add:1", "sh", "-c", "cat /opt/pkg/inside.txt; ls /docs")
    assert r.stdout == "unpacked\nkeep.md\n", r.stderr
    (ctx / "Dockerfile").write_text("FROM busybox\nADD http://127.0.0.1:1/x /x\n")
    code, _, err = build(env, "-t", "buildtest/add:2", str(ctx))
    assert code != 0 and "Traceback" not in err and "URL" in err.upper(), err

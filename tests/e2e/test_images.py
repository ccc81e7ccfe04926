"""The images screen of the installed ``tuidock`` in a real terminal (tmux): pull from a local registry, look at
the layers, run a container from the image; each effect checked on the screen and with the CLI."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_app import term  # noqa: F401  (the app's terminal, 150x45)
from tests.integration.registry_servers import pushed_image  # noqa: F401

pytestmark = pytest.mark.requires("root", "overlay", "busybox", "tmux", "registry")


def focused(label: str) -> str:
    """The screen when the input labelled ``label`` has the focus: Textual frames it (a tall border, ▔ above
    and ▁ below), what a person looks for before typing. Keys sent before the frame moved could still go to
    the field that had the focus."""
    return r"▔{10,}[^\n]*\n[^\n]*" + label + r" [^\n]*\n[^\n]*▁{10,}"


def test_pull_from_a_local_registry_inspect_the_layers_and_run_a_container(term, env, pushed_image):
    ref, repo = pushed_image.ref, re.escape(pushed_image.repository)
    term.type("tuidock")
    term.wait_for(r"NAME\s+IMAGE\s+STATUS\s+CPU %")
    term.keys("2")
    term.wait_for(r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+USED BY")
    term.wait_for(r"busybox\s+latest\s+[0-9a-f]{12}")
    assert not re.search(repo, term.screen())  # not in the store before the pull

    # p: the pull dialog, its only field focused; enter pulls.
    term.keys("p")
    term.wait_for(r"Pull an image")
    term.wait_for(focused("Image"))
    term.type(ref, enter=False)
    term.wait_for(re.escape(ref))
    term.keys("Enter")
    # A line per layer: busybox's is there already, the other is fetched; then docker's last lines.
    term.wait_for(r"[0-9a-f]{12} Already exists", timeout=30)
    term.wait_for(r"[0-9a-f]{12} Pull complete", timeout=30)
    term.wait_for(r"Downloaded newer image for " + repo + ":1", timeout=30)
    assert ref in env.cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout.split()
    term.keys("Escape")  # a finished pull's screen closes
    row = term.wait_for(repo + r"\s+1\s+([0-9a-f]{12})\s+\d+ seconds? ago\s+\d+(\.\d+)?[kM]B\s+-")
    image_id = row.group(1)
    assert env.cli("images", "-q", ref, check=True).stdout.strip() == image_id
    # The cursor is on the first row; the new image was added below busybox. Walk down to it.
    rows = [ln for ln in term.screen().splitlines() if re.search(r"\s[0-9a-f]{12}\s", ln)]
    below = next(i for i, ln in enumerate(rows) if re.search(repo, ln))
    for _ in range(below):
        term.keys("Down")

    # enter: its layers, dive-style (the title says which image: the cursor was on it). Two layers; the
    # second is the RUN that wrote /random.
    term.keys("Enter")
    term.wait_for(r"image " + repo + r":1\s+2 layers")
    term.wait_for(r"efficiency \d+(\.\d+)? %")
    term.wait_for(r"\b0\s+[0-9a-f]{12}\s+\d+(\.\d+)?[kM]B\s+")
    term.wait_for(r"\b1\s+[0-9a-f]{12}\s+\d+(\.\d+)?kB\s+RUN " + re.escape(pushed_image.instruction[:40]))
    term.wait_for(r"\blayer 0 +│[^\n]*\n +sha256:[0-9a-f]{64}")  # the first layer is selected: busybox's files
    term.keys("Down")  # the second layer: its changes are the one file it added
    term.wait_for(r"\blayer 1 +│[^\n]*\n +sha256:[0-9a-f]{64}")
    term.wait_for(r"1 added, 0 changed, 0 deleted")
    term.wait_for(r"added\s+/random\s+400kB")
    term.keys("t")  # the tree up to this layer: both layers' files, each marked with its layer
    term.wait_for(r"random\s+L1 400kB")
    term.wait_for(r"bin/\s+L0")
    term.keys("Escape")
    term.wait_for(r"REPOSITORY\s+TAG\s+IMAGE ID")

    # r: the run dialog, pre-filled with the image; name, then the command, then ctrl+r runs it.
    term.keys("r")
    term.wait_for(r"New container")
    term.wait_for(r"Image \S+\s+" + repo + ":1")
    term.wait_for(focused("Name"))
    term.type("e2e-pulled", enter=False)
    term.wait_for(r"Name \S+\s+e2e-pulled ")
    term.wait_for(r"\$ tuidock run --name e2e-pulled " + repo + ":1")
    term.keys("Enter")  # enter moves to the next field
    term.wait_for(focused("Command"))
    term.type("sleep 1000", enter=False)
    term.wait_for(r"\$ tuidock run --name e2e-pulled " + repo + r":1 sleep 1000")
    term.keys("C-r")
    term.wait_for(r"REPOSITORY\s+TAG\s+IMAGE ID")
    term.wait_for(repo + r"\s+1\s+" + image_id + r"\s+.*1 container", timeout=20)

    # The CLI agrees: it runs, from the pulled image, with the file of the pulled layer.
    ps = env.cli("ps", "--format", "{{.Names}} {{.Image}} {{.Status}}", check=True).stdout
    assert re.search(r"^e2e-pulled " + repo + r":1 Up ", ps, re.M), ps
    state = env.cli("inspect", "-f", "{{.State.Status}} {{.Config.Image}} {{.Image}}", "e2e-pulled",
                    check=True).stdout.split()
    assert state[:2] == ["running", ref] and state[2].startswith("sha256:" + image_id), state
    r = env.cli("exec", "e2e-pulled", "wc", "-c", "/random", check=True)
    assert r.stdout.split()[0] == "400000"

    term.keys("q")
    term.wait_last_line(r"^host\$\s*$")

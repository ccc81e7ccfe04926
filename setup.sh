#!/bin/sh
# setup.sh: install everything tuidock needs on Debian 12, as root, idempotently.
#
#   ./setup.sh          the system packages and a virtualenv in .venv with tuidock
#   ./setup.sh --test   the same, plus what the test suite and the benchmarks use
#                       (runc, podman, skopeo, Debian's docker-registry, hyperfine)
set -eu
cd "$(dirname "$0")"

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

# nftables: libnftables1, through which runtime/net/nft.py writes the NAT and
# published-port rules, and the nft command; iproute2: `ip`, to look at links.
pkgs="python3 python3-venv busybox-static tini tmux nftables iproute2 ca-certificates"
if [ "$want_tests" = 1 ]; then
    pkgs="$pkgs runc podman crun skopeo docker-registry hyperfine uidmap git"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$want_tests" = 1 ] && [ ! -f /etc/containers/containers.conf ]; then
    # podman on hosts like the CI machine: cgroup v1 or hybrid, no systemd, and a
    # root without CAP_SYS_RESOURCE (podman's default open-files limit is refused).
    mkdir -p /etc/containers
    cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

# Debian's interpreter: it starts faster than most others, and a container
# start includes a Python start.
[ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null
if [ "$want_tests" = 1 ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
else
    .venv/bin/pip install -q --disable-pip-version-check -e . --config-settings editable_mode=compat
fi
# Byte-compile now: a container start includes a Python start, and compiling
# the CLI's modules on every run (with PYTHONDONTWRITEBYTECODE set) costs more.
.venv/bin/python -m compileall -q runtime tuidock bench >/dev/null

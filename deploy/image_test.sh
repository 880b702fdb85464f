#!/usr/bin/env bash
# `make image-test`: build Dockerfile.relay, run it on the built-in simulator, wait for /api/ws-health and
# the image's HEALTHCHECK, check it runs as non-root without the API stack, and stop it with SIGTERM.
# Where Docker Hub cannot be reached, the base image is a local Debian made with debootstrap.
# Installs docker.io and debootstrap when root; starts dockerd when none runs, and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=.local/image-test
IMAGE=honeydrip-relay:image-test
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# The local base carries this machine's CA bundle (see below), so its tag follows the bundle.
LOCAL_BASE=honeydrip-local-base:bookworm-$( (cat "$HOST_CA_BUNDLE" 2>/dev/null || true) | sha256sum | cut -c1-12)
mkdir -p "$WORK"
dockerd_pid=""
container=""

cleanup() {
    if [ -n "$container" ]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

need() {  # need COMMAND DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "image-test: $1 not found: apt-get install $2" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
}
need dockerd docker.io
need debootstrap debootstrap

if ! docker info >/dev/null 2>&1; then
    echo "image-test: starting dockerd (log: $WORK/dockerd.log)"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "image-test: dockerd did not start: see $WORK/dockerd.log" >&2; exit 1; }
fi

base=python:3.11-slim
if ! timeout 60 docker pull -q "$base" >/dev/null 2>&1; then
    if ! docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        # The machine's own Debian mirror, as apt is configured (deb822 or one-line sources).
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
        echo "image-test: $base unreachable; building $LOCAL_BASE with debootstrap"
        rootfs="$WORK/rootfs"
        rm -rf "$rootfs"
        debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates bookworm "$rootfs" "$mirror" \
            >"$WORK/debootstrap.log" 2>&1 || { echo "image-test: debootstrap failed: $WORK/debootstrap.log" >&2; exit 1; }
        # What python:3.11-slim offers that the Dockerfile relies on: `python`, and pip allowed to install.
        ln -sf python3 "$rootfs/usr/bin/python"
        rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
        # This machine's trust store, so pip in the build reaches PyPI as the host does (through a
        # TLS-inspecting proxy whose CA only the host knows, where there is one). Test base only.
        if [ -f "$HOST_CA_BUNDLE" ]; then cp "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"; fi
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -c . | docker import - "$LOCAL_BASE" >/dev/null
        rm -rf "$rootfs"
    fi
    base=$LOCAL_BASE
fi

echo "image-test: building on $base"
docker build -q --network host --build-arg "BASE=$base" -f Dockerfile.relay -t "$IMAGE" . >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
container=$(docker run -d --network host -e "PORT=$port" -e RELAY_HOST=127.0.0.1 -e RELAY_SIMULATE=1 "$IMAGE")

python3 - "$port" <<'PY'
import json, sys, time, urllib.request
port = sys.argv[1]
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ws-health", timeout=3) as answer:
            body = json.load(answer)
            break
    except Exception as error:
        if time.monotonic() > deadline:
            sys.exit(f"image-test: no /api/ws-health within 60 s ({error})")
        time.sleep(0.5)
assert body["source"] == "simulator", body
print(f"image-test: /api/ws-health answers (healthy={body['healthy']}, source={body['source']})")
PY

for _ in $(seq 90); do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$container")
    [ "$state" = healthy ] && break
    sleep 1
done
[ "$state" = healthy ] || { echo "image-test: HEALTHCHECK says $state" >&2; docker logs "$container" | tail -20; exit 1; }
echo "image-test: HEALTHCHECK healthy"

[ "$(docker exec "$container" id -u)" != 0 ] || { echo "image-test: runs as root" >&2; exit 1; }
for module in flask psycopg supabase boto3; do
    if docker exec "$container" python -c "import $module" 2>/dev/null; then
        echo "image-test: $module is in the relay image" >&2
        exit 1
    fi
done
echo "image-test: non-root, no flask/psycopg/supabase/boto3"

docker stop -t 15 "$container" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
[ "$code" = 0 ] || { echo "image-test: exit code $code after SIGTERM" >&2; docker logs "$container" | tail -20; exit 1; }
echo "image-test: stopped cleanly on SIGTERM; OK ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"

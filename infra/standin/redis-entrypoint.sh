#!/bin/sh
# Stand-in for the official redis image's entrypoint, on Debian's Redis (make image-test;
# infra/standin/README.md). As the official image: `redis-server ...` runs as user redis in
# /data (the volume) with protected mode off (it listens on the container's network).
set -eu

if [ "${1:-}" = redis-server ]; then
    shift
    mkdir -p /data
    chown redis:redis /data
    cd /data
    exec setpriv --reuid=redis --regid=redis --init-groups -- \
        redis-server --protected-mode no --dir /data "$@"
fi
exec "$@"

#!/bin/sh
# Stand-in for the official postgres image's entrypoint, on Debian's PostgreSQL (make
# image-test; infra/standin/README.md). Honours what infra/compose.yaml gives the official
# image: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, and PGDATA under /var/lib/postgresql
# (the volume). The first start makes the cluster, the role and the database; every start
# then runs the server in the foreground as user postgres, listening on every address.
set -eu

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export PATH="$bin:$PATH"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

if [ "${1:-postgres}" != postgres ]; then
    exec "$@"
fi

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres stand-in: POSTGRES_PASSWORD is required" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 \
        --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 > /dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        # On a private socket, so that a health check (pg_isready) fails until the end.
        socket=$(mktemp -d)
        chown postgres "$socket"
        as_postgres pg_ctl --wait --silent \
            -o "-c listen_addresses='' -c unix_socket_directories=$socket" start
        # From standard input: psql interpolates :"db" (quoted as an identifier) there only.
        echo 'CREATE DATABASE :"db"' | as_postgres psql --quiet --host="$socket" \
            --username="$POSTGRES_USER" --dbname=postgres --set=ON_ERROR_STOP=1 \
            --set=db="$POSTGRES_DB" > /dev/null
        as_postgres pg_ctl --wait --silent stop
        rm -rf "$socket"
    fi
    echo "postgres stand-in: initialised $PGDATA for $POSTGRES_USER/$POSTGRES_DB"
fi

shift || true
exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    postgres -c listen_addresses='*' "$@"

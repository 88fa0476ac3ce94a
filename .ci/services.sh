# Installs and starts the services the tests need; sourced by .ci/run (and usable by hand).
# Exports KIKAN_TEST_PG_URL for the PostgreSQL store tests and KIKAN_CHROMIUM for report tests.
need_pkgs=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
# fonts for 外字同定 by glyph (tests/gaiji/test_glyph_*.py, bench/glyphs.py)
for p in fonts-ipamj-mincho fonts-ipaexfont-mincho fonts-noto-cjk; do dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p"); done
command -v uconv >/dev/null 2>&1 || need_pkgs+=(icu-devtools)   # ICU's uconv: the IBM codec oracle
if [ ${#need_pkgs[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA=${KIKAN_PGDATA:-/tmp/kikan-pg}
PGPORT=${KIKAN_PGPORT:-55432}
# Reuse a server already answering on the port (a developer's, started by an earlier source);
# otherwise make a fresh cluster. pg_ctl refuses to run as root, so it runs as postgres.
if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
  rm -rf "$PGDATA"; mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"
  su postgres -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
  su postgres -c "$PGBIN/pg_ctl -D $PGDATA -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off' -l $PGDATA/log -w start" >/dev/null
fi
export KIKAN_TEST_PG_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
export KIKAN_CHROMIUM=$(command -v chromium || true)

#!/usr/bin/env bash
# Prepare a (possibly fresh) Debian machine for `make run` / `make test`:
#   - OS packages (CJK TrueType fonts for PDFs, pdftotext for tests,
#     Chromium for the portal's browser tests, Node.js and npm for its assets)
#   - PostgreSQL answering at INNOBASE_PG_HOST:INNOBASE_PG_PORT
#   - RabbitMQ answering at INNOBASE_AMQP_HOST:INNOBASE_AMQP_PORT
#   - RabbitMQ vhosts from INNOBASE_VHOSTS, with permissions for guest
#   - the portal's browser assets: `npm ci` from package-lock.json into
#     node_modules/ (htmx, ECharts, axe-core), again only when the lock changed
# Idempotent; every wait is bounded (BOOTSTRAP_WAIT seconds, default 60).
set -euo pipefail

PG_HOST="${INNOBASE_PG_HOST:-127.0.0.1}"
PG_PORT="${INNOBASE_PG_PORT:-5432}"
AMQP_HOST="${INNOBASE_AMQP_HOST:-127.0.0.1}"
AMQP_PORT="${INNOBASE_AMQP_PORT:-5672}"
VHOSTS="${INNOBASE_VHOSTS:-innobase innobase_test innobase_bench}"
WAIT="${BOOTSTRAP_WAIT:-60}"
APT_TIMEOUT="${BOOTSTRAP_APT_TIMEOUT:-900}"
# Pango and HarfBuzz's subsetter: what WeasyPrint loads to lay out and embed the printed documents
OS_PACKAGES=(fonts-wqy-zenhei fonts-arphic-uming poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
             chromium chromium-driver)

say()  { echo "bootstrap: $*"; }
die()  { echo "bootstrap: ERROR: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

is_root()    { [ "$(id -u)" -eq 0 ]; }
is_debian()  { [ -r /etc/debian_version ] && have apt-get; }
can_apt()    { is_root && is_debian; }
is_local()   { case "$1" in 127.0.0.1|localhost|::1|0.0.0.0) return 0 ;; *) return 1 ;; esac; }

# --------------------------------------------------------------------------
# apt helpers
# --------------------------------------------------------------------------
APT_UPDATED=0
apt_update() {
    [ "$APT_UPDATED" -eq 1 ] && return 0
    say "apt-get update"
    timeout "$APT_TIMEOUT" apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
}

apt_has_candidate() {
    local cand
    cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

apt_install() {
    local p
    for p in "$@"; do
        apt_has_candidate "$p" || { apt_update; break; }
    done
    say "installing: $*"
    if ! apt_get_install "$@"; then
        # package lists may be stale: refresh once and retry
        [ "$APT_UPDATED" -eq 1 ] && die "apt-get install $* failed"
        apt_update
        apt_get_install "$@" || die "apt-get install $* failed"
    fi
}

# quiet on success, last lines of the apt output on failure
apt_get_install() {
    local out rc=0
    out="$(DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
            apt-get install -y -qq "$@" 2>&1)" || rc=$?
    [ "$rc" -eq 0 ] || tail -n 15 <<<"$out" >&2
    return "$rc"
}

# --------------------------------------------------------------------------
# a. OS packages
# --------------------------------------------------------------------------
missing=()
if have dpkg; then
    for p in "${OS_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
else
    missing=("${OS_PACKAGES[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    can_apt || die "missing OS packages: ${missing[*]} (install them as root, e.g. apt-get install ${missing[*]})"
    apt_install "${missing[@]}"
fi
say "OS packages ok (${OS_PACKAGES[*]})"

# --------------------------------------------------------------------------
# b. PostgreSQL
# --------------------------------------------------------------------------
pg_ready() {
    if have pg_isready; then
        timeout 5 pg_isready -q -t 3 -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
    else
        timeout 2 bash -c "</dev/tcp/$PG_HOST/$PG_PORT" >/dev/null 2>&1
    fi
}

pg_local_installed() {
    [ -d /etc/postgresql ] && [ -n "$(ls -A /etc/postgresql 2>/dev/null)" ] && have pg_ctlcluster
}

# Start every local cluster that is not online yet.
pg_start_local() {
    local ver status
    for ver in $(ls /etc/postgresql 2>/dev/null); do
        [ -d "/etc/postgresql/$ver/main" ] || continue
        status="$(pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" {print $4}')"
        case "$status" in online*) continue ;; esac
        say "starting local PostgreSQL cluster $ver/main"
        timeout "$WAIT" pg_ctlcluster --skip-systemctl-redirect "$ver" main start \
            >/dev/null 2>&1 || say "pg_ctlcluster $ver main start failed (see /var/log/postgresql/)"
    done
}

# Ports the local clusters are configured for (used for a precise error).
pg_local_ports() {
    have pg_lsclusters || return 0
    pg_lsclusters -h 2>/dev/null | awk '{print $3}' | sort -u | tr '\n' ' '
}

# After a fresh install: role root as superuser, trust for local TCP.
pg_configure_fresh() {
    local ver hba
    for ver in $(ls /etc/postgresql); do
        hba="/etc/postgresql/$ver/main/pg_hba.conf"
        [ -f "$hba" ] || continue
        sed -i -E \
            's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[a-z0-9-]+#\1trust#' \
            "$hba"
        timeout 30 pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >/dev/null 2>&1 || true
    done
    local out
    if ! out="$(cd / && timeout 30 su postgres -c "createuser -s root" 2>&1)"; then
        case "$out" in
            *"already exists"*) ;;
            *) die "could not create PostgreSQL role root: $out" ;;
        esac
    fi
}

if pg_ready; then
    say "PostgreSQL answering at $PG_HOST:$PG_PORT"
else
    if ! is_local "$PG_HOST"; then
        die "PostgreSQL is not answering at $PG_HOST:$PG_PORT (remote host: start it there or fix INNOBASE_PG_HOST/PORT)"
    elif pg_local_installed; then
        pg_start_local
    elif can_apt; then
        apt_install postgresql
        pg_start_local
        # wait for the freshly started cluster before configuring it
        deadline=$((SECONDS + WAIT))
        until pg_ready || [ "$SECONDS" -ge "$deadline" ]; do sleep 1; done
        pg_configure_fresh
    else
        die "PostgreSQL is not answering at $PG_HOST:$PG_PORT and is not installed here: install it or set INNOBASE_PG_HOST/PORT"
    fi

    ports="$(pg_local_ports)"
    if [ -n "$ports" ] && ! grep -qw -- "$PG_PORT" <<<"$ports"; then
        die "PostgreSQL is not answering at $PG_HOST:$PG_PORT: local cluster(s) listen on port(s) ${ports% } instead; fix INNOBASE_PG_PORT"
    fi

    say "waiting for PostgreSQL at $PG_HOST:$PG_PORT (max ${WAIT}s)"
    deadline=$((SECONDS + WAIT))
    until pg_ready; do
        [ "$SECONDS" -ge "$deadline" ] && \
            die "PostgreSQL did not become ready at $PG_HOST:$PG_PORT within ${WAIT}s (see /var/log/postgresql/)"
        sleep 1
    done
    say "PostgreSQL answering at $PG_HOST:$PG_PORT"
fi

# --------------------------------------------------------------------------
# c. RabbitMQ
# --------------------------------------------------------------------------
amqp_open() { timeout 2 bash -c "</dev/tcp/$AMQP_HOST/$AMQP_PORT" >/dev/null 2>&1; }
rmq_ctl()   { timeout 30 rabbitmqctl "$@"; }

if amqp_open; then
    say "RabbitMQ answering at $AMQP_HOST:$AMQP_PORT"
else
    if ! is_local "$AMQP_HOST"; then
        die "RabbitMQ is not answering at $AMQP_HOST:$AMQP_PORT (remote host: start it there or fix INNOBASE_AMQP_HOST/PORT)"
    elif have rabbitmq-server; then
        :
    elif can_apt; then
        apt_install rabbitmq-server
    else
        die "RabbitMQ is not answering at $AMQP_HOST:$AMQP_PORT and is not installed here: install rabbitmq-server or set INNOBASE_AMQP_HOST/PORT"
    fi

    if have rabbitmq-diagnostics && timeout 15 rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        # the node (Erlang VM) is up: possibly just started by the package install,
        # possibly with its application stopped (`rabbitmqctl stop_app`)
        if ! timeout 15 rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then
            say "RabbitMQ node is up with its application stopped: rabbitmqctl start_app"
            if ! timeout "$WAIT" rabbitmqctl start_app >/dev/null 2>&1; then
                say "start_app did not finish within ${WAIT}s: restarting the node"
                timeout 60 rabbitmqctl stop >/dev/null 2>&1 || true
                timeout "$WAIT" rabbitmq-server -detached >/dev/null 2>&1 || true
            fi
        fi
        ports="$(timeout 15 rabbitmq-diagnostics -q listeners 2>/dev/null \
                 | awk -F'port: ' '/protocol: amqp,/ {split($2, a, ","); print a[1]}' \
                 | sort -u | tr '\n' ' ')" || ports=""
        if [ -n "$ports" ] && ! grep -qw -- "$AMQP_PORT" <<<"$ports"; then
            die "RabbitMQ is not answering at $AMQP_HOST:$AMQP_PORT: the local node listens for AMQP on port(s) ${ports% } instead; fix INNOBASE_AMQP_PORT"
        fi
    else
        say "starting rabbitmq-server"
        timeout "$WAIT" rabbitmq-server -detached >/dev/null 2>&1 || true
    fi

    say "waiting for RabbitMQ at $AMQP_HOST:$AMQP_PORT (max ${WAIT}s)"
    deadline=$((SECONDS + WAIT))
    if have rabbitmqctl; then
        timeout $((WAIT + 5)) rabbitmqctl await_startup --timeout "$WAIT" >/dev/null 2>&1 || true
    fi
    until amqp_open; do
        [ "$SECONDS" -ge "$deadline" ] && \
            die "RabbitMQ did not open $AMQP_HOST:$AMQP_PORT within ${WAIT}s (see /var/log/rabbitmq/)"
        sleep 1
    done
    say "RabbitMQ answering at $AMQP_HOST:$AMQP_PORT"
fi

# --------------------------------------------------------------------------
# d. vhosts
# --------------------------------------------------------------------------
# rabbitmqctl only works as root or as the rabbitmq user
rmq_ctl_usable() { have rabbitmqctl && { is_root || [ "$(id -un)" = rabbitmq ]; }; }
short() { tail -n 3 <<<"$1"; }

if [ -n "$VHOSTS" ] && rmq_ctl_usable && is_local "$AMQP_HOST"; then
    existing="$(rmq_ctl list_vhosts -q --no-table-headers 2>&1)" || \
        die "rabbitmqctl list_vhosts failed: $(short "$existing")"
    for vh in $VHOSTS; do
        if ! grep -qxF -- "$vh" <<<"$existing"; then
            out="$(rmq_ctl add_vhost "$vh" 2>&1)" || die "rabbitmqctl add_vhost $vh failed: $(short "$out")"
            say "created vhost $vh"
        fi
        out="$(rmq_ctl set_permissions -q -p "$vh" guest ".*" ".*" ".*" 2>&1)" || \
            die "rabbitmqctl set_permissions -p $vh guest failed: $(short "$out")"
    done
    say "vhosts ok ($VHOSTS)"
elif [ -n "$VHOSTS" ]; then
    say "rabbitmqctl not usable here (needs root): make sure vhosts ($VHOSTS) exist on $AMQP_HOST with guest permissions"
fi

say "PostgreSQL and RabbitMQ ready"

# --------------------------------------------------------------------------
# e. the portal's browser assets (served by the portal itself: no CDN)
# --------------------------------------------------------------------------
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -f "$ROOT/package-lock.json" ]; then
    # any npm will do (Debian's, or one that came with another Node.js build)
    if ! have npm; then
        can_apt || die "npm is missing: install Node.js and npm (e.g. apt-get install nodejs npm)"
        apt_install nodejs npm
    fi
    lock_sum="$(cksum <"$ROOT/package-lock.json" | cut -d' ' -f1)"
    stamp="$ROOT/node_modules/.innobase-lock-$lock_sum"
    if [ ! -f "$stamp" ]; then
        say "npm ci (portal assets)"
        out="$(cd "$ROOT" && timeout "$APT_TIMEOUT" npm ci --no-audit --no-fund 2>&1)" || \
            die "npm ci failed: $(short "$out")"
        touch "$stamp"
    fi
    say "portal assets ok (node_modules/)"
fi

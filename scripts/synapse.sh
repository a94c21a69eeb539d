#!/usr/bin/env bash
# A real Synapse for development and tests, loopback only.
#
#   scripts/synapse.sh install
#       Creates ${FERRY_SYNAPSE_HOME:-<repo>/.synapse}/venv with matrix-synapse==$SYNAPSE_VERSION.
#       Does nothing (fast) when that version is already installed.
#   scripts/synapse.sh start --dir DIR --port PORT --registration FILE [--server-name NAME]
#                            [--watch-pid PID] [--database-url postgres://USER@HOST:PORT/DB]
#       Generates DIR/homeserver.yaml once, (re)applies the test overrides (see
#       scripts/synapse-config.py), starts Synapse in the background (log: DIR/homeserver.log,
#       early stderr: DIR/homeserver.out, pid: DIR/synapse.pid) and waits until
#       http://127.0.0.1:PORT/_matrix/client/versions answers 200 (120 s timeout).
#       With --watch-pid, Synapse is stopped as soon as process PID is gone (test harnesses
#       pass their own pid so a killed test run leaves no Synapse behind). With --database-url,
#       Synapse stores its data in that PostgreSQL database (created by the caller with
#       ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0, as Synapse requires)
#       instead of DIR/homeserver.db (SQLite).
#       With --workers N (needs --database-url), Synapse runs in worker mode instead: its own
#       Redis (redis-server on a free port, no persistence; pid DIR/redis.pid), the main
#       process, N generic workers persister1..N that are the event persisters
#       (stream_writers.events, rooms sharded by Synapse's hash of the room ID; pids
#       DIR/persisterK.pid, logs DIR/persisterK.log) and scripts/synapse-router.ts on PORT
#       (pid DIR/router.pid) routing client requests to them. start also (re)starts any of
#       these processes that is not running, so after a kill -9 of one worker, the same start
#       command brings it back.
#   scripts/synapse.sh stop --dir DIR
#       SIGTERM (every process of a worker-mode DIR), then SIGKILL after 15 s.
#   scripts/synapse.sh restart <start args>
#       stop + start.
#
# Idempotent throughout: start on a running DIR is a no-op, stop on a stopped DIR is a no-op.
set -euo pipefail

SYNAPSE_VERSION=1.163.2
# Synapse's PostgreSQL driver, as a wheel (no libpq headers needed); for --database-url.
PSYCOPG2_VERSION=2.9.10
# Synapse's Redis client (its `redis` extra pins >=1.4.12,<1.6.0), for --workers only. It goes
# into SYNAPSE_HOME/worker-deps (PYTHONPATH), so the virtualenv itself is left alone.
TXREDISAPI_VERSION=1.4.12
HIREDIS_VERSION=3.4.2
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SYNAPSE_HOME=${FERRY_SYNAPSE_HOME:-$REPO_ROOT/.synapse}
VENV=$SYNAPSE_HOME/venv
PY=$VENV/bin/python
START_TIMEOUT=120
STOP_GRACE=15

die() {
  echo "synapse.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

installed() {
  # No Python start-up on the fast path: the dist-info directory names the installed version.
  compgen -G "$VENV/lib/python3*/site-packages/matrix_synapse-$SYNAPSE_VERSION.dist-info" >/dev/null &&
    compgen -G "$VENV/lib/python3*/site-packages/psycopg2_binary-$PSYCOPG2_VERSION.dist-info" >/dev/null &&
    [[ -x $PY ]]
}

cmd_install() {
  if installed; then
    echo "synapse.sh: matrix-synapse $SYNAPSE_VERSION already installed in $VENV"
    return 0
  fi
  mkdir -p "$SYNAPSE_HOME"
  # Several test workers may install at once: serialise on a lock and re-check inside it.
  exec 9>"$SYNAPSE_HOME/install.lock"
  flock 9
  if installed; then
    echo "synapse.sh: matrix-synapse $SYNAPSE_VERSION already installed in $VENV"
    exec 9>&-
    return 0
  fi
  local t0=$SECONDS
  python3 -m venv "$VENV"
  local log=$SYNAPSE_HOME/pip-install.log
  if ! "$PY" -m pip install -q --disable-pip-version-check "matrix-synapse==$SYNAPSE_VERSION" \
    "psycopg2-binary==$PSYCOPG2_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    die "pip install matrix-synapse==$SYNAPSE_VERSION failed (log: $log)"
  fi
  # Pass on pip's warnings except the noise from find-links/extra-index dirs that lack a package.
  grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
  installed || die "pip finished but matrix-synapse $SYNAPSE_VERSION is not in $VENV"
  exec 9>&-
  echo "synapse.sh: installed matrix-synapse $SYNAPSE_VERSION into $VENV in $((SECONDS - t0)) s"
}

# --- argument parsing for start/stop/restart -------------------------------------------------
DIR='' PORT='' REGISTRATION='' SERVER_NAME=ferry.test WATCH_PID='' DATABASE_URL='' WORKERS=0
parse_args() {
  while (($#)); do
    case $1 in
      --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
      --port) PORT=${2:?--port needs a value}; shift 2 ;;
      --registration) REGISTRATION=${2:?--registration needs a value}; shift 2 ;;
      --server-name) SERVER_NAME=${2:?--server-name needs a value}; shift 2 ;;
      --watch-pid) WATCH_PID=${2:?--watch-pid needs a value}; shift 2 ;;
      --database-url) DATABASE_URL=${2:?--database-url needs a value}; shift 2 ;;
      --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
      -h | --help) usage ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ -n $DIR ]] || die "--dir is required"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
}

# kill -0 alone is not enough: a Synapse that died during start-up is our zombie child.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

versions_ok() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/_matrix/client/versions" 2>/dev/null
}

# Prints the pid in DIR/synapse.pid if that process is alive and is a Synapse.
running_pid() {
  local pidfile=$DIR/synapse.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # Guard against a recycled pid: the process must be a Synapse homeserver.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'synapse.app.homeserver' || return 1
  echo "$pid"
}

prepare_config() {
  local config=$DIR/homeserver.yaml
  if [[ ! -f $config ]]; then
    # Writes homeserver.yaml, DIR/<server>.signing.key and DIR/<server>.log.config once.
    (cd "$DIR" && "$PY" -m synapse.app.homeserver --server-name "$SERVER_NAME" \
      --config-path "$config" --data-directory "$DIR" \
      --generate-config --report-stats=no >/dev/null)
  fi
  if [[ ! -s $DIR/shared-secret ]]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$DIR/shared-secret")
  fi
  chmod 600 "$DIR/shared-secret"
  # Re-applied on every start so a new port or registration path takes effect.
  "$PY" "$REPO_ROOT/scripts/synapse-config.py" --config "$config" --dir "$DIR" --port "$PORT" \
    --registration "$REGISTRATION" --server-name "$SERVER_NAME" --workers "$WORKERS" \
    --shared-secret-file "$DIR/shared-secret" ${DATABASE_URL:+--database-url "$DATABASE_URL"}
}

cmd_start() {
  parse_args "$@"
  [[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number"
  [[ -n $REGISTRATION ]] || die "--registration is required"
  [[ -f $REGISTRATION ]] || die "registration file not found: $REGISTRATION"
  REGISTRATION=$(cd "$(dirname "$REGISTRATION")" && pwd)/$(basename "$REGISTRATION")

  cmd_install >/dev/null
  if [[ $WORKERS != 0 ]]; then
    start_worker_mode
    return 0
  fi
  [[ ! -f $DIR/workers.env ]] || die "$DIR holds a worker-mode Synapse; start it with --workers N"

  local pid
  if pid=$(running_pid); then
    if versions_ok "$PORT"; then
      echo "synapse.sh: already running in $DIR (pid $pid) on http://127.0.0.1:$PORT"
      return 0
    fi
    die "a Synapse (pid $pid) is already running in $DIR but not answering on port $PORT; stop it first"
  fi
  rm -f "$DIR/synapse.pid"
  if versions_ok "$PORT"; then
    die "port $PORT on 127.0.0.1 already answers /_matrix/client/versions (another homeserver?)"
  fi

  local config=$DIR/homeserver.yaml
  prepare_config

  local t0 now
  t0=$(date +%s%N)
  # nohup + own stdin/stdout: the caller (a test runner's execFile) must not wait on our fds.
  (cd "$DIR" && exec nohup "$PY" -m synapse.app.homeserver -c "$config" \
    >>"$DIR/homeserver.out" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$DIR/synapse.pid"

  if [[ -n $WATCH_PID ]]; then
    # Watchdog: stop Synapse when the watched process disappears; exit when Synapse does.
    # shellcheck disable=SC2016 # $1/$2 expand in the child shell
    nohup bash -c '
      while kill -0 "$1" 2>/dev/null; do
        if ! kill -0 "$2" 2>/dev/null; then kill -TERM "$1" 2>/dev/null; exit 0; fi
        sleep 1
      done' synapse-watchdog "$pid" "$WATCH_PID" >/dev/null 2>&1 </dev/null &
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  until versions_ok "$PORT"; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      if alive "$pid"; then
        echo "synapse.sh: Synapse did not answer on port $PORT within $START_TIMEOUT s" >&2
        kill -KILL "$pid" 2>/dev/null || true
      else
        echo "synapse.sh: Synapse exited during start-up" >&2
      fi
      rm -f "$DIR/synapse.pid"
      for f in "$DIR/homeserver.out" "$DIR/homeserver.log"; do
        if [[ -f $f ]]; then
          echo "--- tail of $f ---" >&2
          tail -n 40 "$f" >&2
        fi
      done
      exit 1
    fi
    sleep 0.2
  done
  now=$(date +%s%N)
  echo "synapse.sh: Synapse $SYNAPSE_VERSION ($SERVER_NAME) up on http://127.0.0.1:$PORT" \
    "(pid $pid, $(((now - t0) / 1000000)) ms)"
}

cmd_stop() {
  parse_args "$@"
  if [[ -f $DIR/workers.env ]]; then
    stop_worker_mode
    return 0
  fi
  local pid
  if ! pid=$(running_pid); then
    rm -f "$DIR/synapse.pid"
    echo "synapse.sh: no Synapse running in $DIR"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while alive "$pid" && ((waited < STOP_GRACE * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
    echo "synapse.sh: Synapse (pid $pid) killed after $STOP_GRACE s"
  else
    echo "synapse.sh: Synapse (pid $pid) stopped"
  fi
  rm -f "$DIR/synapse.pid"
}

# shellcheck source=scripts/synapse-workers.sh
source "$REPO_ROOT/scripts/synapse-workers.sh"

cmd=${1:-}
(($#)) && shift
case $cmd in
  install) (($# == 0)) || die "install takes no arguments"; cmd_install ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  restart)
    (cmd_stop "$@")
    cmd_start "$@"
    ;;
  *) usage ;;
esac

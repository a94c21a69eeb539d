# shellcheck shell=bash
# Worker mode of scripts/synapse.sh (sourced by it; not run on its own): Redis, the main
# process, N event persisters (generic workers) and the router, each with a pid file in DIR.
#
#   DIR/redis.pid       redis-server --port REDIS_PORT (DIR/workers.env), no persistence
#   DIR/synapse.pid     synapse.app.homeserver, client API on MAIN_CLIENT_PORT (internal)
#   DIR/persisterK.pid  synapse.app.generic_worker -c homeserver.yaml -c workers/persisterK.yaml
#   DIR/router.pid      scripts/synapse-router.ts on the public --port
#
# The ports live in DIR/workers.json (chosen once by scripts/synapse-config.py) and are
# exported to this script through DIR/workers.env.

WORKER_DEPS=$SYNAPSE_HOME/worker-deps

worker_deps_installed() {
  compgen -G "$WORKER_DEPS/txredisapi-$TXREDISAPI_VERSION.dist-info" >/dev/null &&
    compgen -G "$WORKER_DEPS/hiredis-$HIREDIS_VERSION.dist-info" >/dev/null
}

install_worker_deps() {
  worker_deps_installed && return 0
  mkdir -p "$SYNAPSE_HOME"
  exec 8>"$SYNAPSE_HOME/worker-deps.lock"
  flock 8
  if ! worker_deps_installed; then
    # --no-deps: txredisapi's only dependencies (six, Twisted) are already Synapse's; hiredis
    # is a binary wheel without any.
    "$PY" -m pip install -q --disable-pip-version-check --no-deps --target "$WORKER_DEPS" \
      "txredisapi==$TXREDISAPI_VERSION" "hiredis==$HIREDIS_VERSION" \
      >"$SYNAPSE_HOME/worker-deps.log" 2>&1 ||
      die "pip install of the Redis client failed (log: $SYNAPSE_HOME/worker-deps.log)"
  fi
  exec 8>&-
}

ensure_redis_server() {
  command -v redis-server >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "synapse.sh: installing redis-server (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1; } ||
      die "apt-get install redis-server failed"
  fi
  command -v redis-server >/dev/null || die "worker mode needs redis-server (apt-get install redis-server)"
}

# Prints the pid in FILE if that process is alive and its command line contains PATTERN.
pid_matching() {
  local file=$1 pattern=$2 pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  echo "$pid"
}

# start_bg NAME CMD...: runs CMD in DIR in the background, output to DIR/NAME.out, pid to
# DIR/NAME.pid (nohup and own fds, as for the monolith).
start_bg() {
  local name=$1
  shift
  (cd "$DIR" && exec nohup "$@" >>"$DIR/$name.out" 2>&1 </dev/null) &
  echo $! >"$DIR/$name.pid"
}

http_ok() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null
}

# wait_up NAME PID PORT PATH: until http://127.0.0.1:PORT/PATH answers 2xx, or fail loudly.
wait_up() {
  local name=$1 pid=$2 port=$3 path=$4 deadline=$((SECONDS + START_TIMEOUT)) log=$DIR/$1.log
  [[ $name != synapse ]] || log=$DIR/homeserver.log
  until http_ok "$port" "$path"; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      alive "$pid" && kill -KILL "$pid" 2>/dev/null
      echo "synapse.sh: $name did not come up on port $port" >&2
      for f in "$DIR/$name.out" "$log"; do
        [[ -f $f ]] && { echo "--- tail of $f ---" >&2; tail -n 40 "$f" >&2; }
      done
      rm -f "$DIR/$name.pid"
      exit 1
    fi
    sleep 0.2
  done
}

start_redis() {
  pid_matching "$DIR/redis.pid" "redis-server" >/dev/null && return 0
  start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$DIR"
  local pid deadline=$((SECONDS + 20))
  pid=$(<"$DIR/redis.pid")
  until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
    alive "$pid" && ((SECONDS < deadline)) || { tail -n 20 "$DIR/redis.out" >&2; die "redis did not start"; }
    sleep 0.1
  done
}

start_worker_mode() {
  [[ -n $DATABASE_URL ]] || die "--workers needs --database-url (Synapse workers need PostgreSQL)"
  [[ $WORKERS =~ ^[1-9][0-9]?$ ]] || die "--workers must be a number from 1 to 99"
  ensure_redis_server
  install_worker_deps
  if [[ -f $DIR/synapse.pid && ! -f $DIR/workers.env ]] && running_pid >/dev/null; then
    die "a monolith Synapse is running in $DIR; stop it first"
  fi
  local config=$DIR/homeserver.yaml t0 now pid name port started=()
  t0=$(date +%s%N)
  prepare_config
  # shellcheck source=/dev/null
  source "$DIR/workers.env"
  export PYTHONPATH=$WORKER_DEPS${PYTHONPATH:+:$PYTHONPATH}
  start_redis

  if ! pid=$(running_pid); then
    if versions_ok "$PORT" && ! pid_matching "$DIR/router.pid" synapse-router.ts >/dev/null; then
      die "port $PORT on 127.0.0.1 already answers /_matrix/client/versions (another homeserver?)"
    fi
    start_bg synapse "$PY" -m synapse.app.homeserver -c "$config"
    pid=$(<"$DIR/synapse.pid")
    started+=(main)
    start_watchdog "$pid"
  fi
  wait_up synapse "$pid" "$MAIN_CLIENT_PORT" /_matrix/client/versions

  local pids=()
  for name in $WORKER_NAMES; do
    if ! pid=$(pid_matching "$DIR/$name.pid" "workers/$name.yaml"); then
      start_bg "$name" "$PY" -m synapse.app.generic_worker -c "$config" -c "$DIR/workers/$name.yaml"
      pid=$(<"$DIR/$name.pid")
      started+=("$name")
    fi
    pids+=("$name:$pid")
  done
  for entry in "${pids[@]}"; do
    name=${entry%%:*}
    port=WORKER_CLIENT_PORT_$name
    wait_up "$name" "${entry#*:}" "${!port}" /_matrix/client/versions
  done

  if ! pid=$(pid_matching "$DIR/router.pid" synapse-router.ts); then
    local args=(--port "$PORT" --main "http://127.0.0.1:$MAIN_CLIENT_PORT")
    for name in $WORKER_NAMES; do
      port=WORKER_CLIENT_PORT_$name
      args+=(--worker "http://127.0.0.1:${!port}")
    done
    (cd "$REPO_ROOT" && exec nohup node --import tsx scripts/synapse-router.ts "${args[@]}" \
      >>"$DIR/router.out" 2>&1 </dev/null) &
    echo $! >"$DIR/router.pid"
    pid=$(<"$DIR/router.pid")
    started+=(router)
  fi
  wait_up router "$pid" "$PORT" /_matrix/client/versions
  now=$(date +%s%N)
  echo "synapse.sh: Synapse $SYNAPSE_VERSION ($SERVER_NAME) in worker mode ($WORKER_NAMES) up on" \
    "http://127.0.0.1:$PORT (started: ${started[*]:-nothing}; $(((now - t0) / 1000000)) ms)"
}

# Stops every process of a worker-mode DIR when WATCH_PID is gone; exits when main does (a
# restart of main starts a new watchdog).
start_watchdog() {
  [[ -n $WATCH_PID ]] || return 0
  # shellcheck disable=SC2016 # $1..$4 expand in the child shell
  nohup bash -c '
    while kill -0 "$1" 2>/dev/null; do
      if ! kill -0 "$2" 2>/dev/null; then bash "$3" stop --dir "$4"; exit 0; fi
      sleep 1
    done' synapse-watchdog "$1" "$WATCH_PID" "$REPO_ROOT/scripts/synapse.sh" "$DIR" \
    >/dev/null 2>&1 </dev/null &
}

stop_worker_mode() {
  local entries=() name pid waited=0 left
  # shellcheck source=/dev/null
  source "$DIR/workers.env"
  pid=$(pid_matching "$DIR/router.pid" synapse-router.ts) && entries+=("router:$pid")
  for name in $WORKER_NAMES; do
    pid=$(pid_matching "$DIR/$name.pid" "workers/$name.yaml") && entries+=("$name:$pid")
  done
  pid=$(running_pid) && entries+=("synapse:$pid")
  for entry in "${entries[@]}"; do kill -TERM "${entry#*:}" 2>/dev/null || true; done
  while ((waited < STOP_GRACE * 10)); do
    left=0
    for entry in "${entries[@]}"; do alive "${entry#*:}" && left=1; done
    ((left)) || break
    sleep 0.1
    waited=$((waited + 1))
  done
  for entry in "${entries[@]}"; do
    if alive "${entry#*:}"; then
      kill -KILL "${entry#*:}" 2>/dev/null || true
      echo "synapse.sh: ${entry%%:*} (pid ${entry#*:}) killed after $STOP_GRACE s"
    fi
    rm -f "$DIR/${entry%%:*}.pid"
  done
  if pid=$(pid_matching "$DIR/redis.pid" redis-server); then
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$DIR/redis.pid" "$DIR/router.pid" "$DIR/synapse.pid"
  echo "synapse.sh: worker-mode Synapse in $DIR stopped (${#entries[@]} processes)"
}

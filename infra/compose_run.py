"""infra/compose.yaml as `docker run` commands, one per service, so `make image-test` runs
exactly the stack the compose file describes without a Compose implementation (Debian
bookworm packages only Compose v1; v2 is a Docker CLI plugin from Docker's own site).

Only what compose.yaml uses is translated; any other key makes `plan` fail, so the file
cannot grow a setting the test run silently ignores (tests/infra/test_image.py).

Naming follows Compose v2: containers `<project>-<service>-1`, the network
`<project>_default`, volumes `<project>_<name>`, and the labels
`com.docker.compose.project` / `com.docker.compose.service` (used to clean up).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Service keys this module translates. Anything else is refused (see module docstring).
KNOWN_KEYS = {
    "image",
    "build",
    "env_file",
    "environment",
    "volumes",
    "restart",
    "command",
    "healthcheck",
    "depends_on",
    "ports",
    "networks",
    "stop_grace_period",
    "profiles",
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


class ComposeError(ValueError):
    """compose.yaml uses something this translation does not do."""


@dataclass
class ServiceRun:
    """One service: its container and the `docker run` arguments that start it."""

    service: str
    container: str
    image: str
    command: list[str] | None
    env: dict[str, str]
    volumes: list[tuple[str, str]]  # (docker volume name, path in the container)
    ports: list[str]  # as given to `docker run -p`
    aliases: list[str]
    depends_on: dict[str, dict[str, Any]]
    exits: bool  # restart "no": a one-off that runs to completion
    healthcheck: list[str] = field(default_factory=list)  # docker run --health-* options
    options: list[str] = field(default_factory=list)  # everything else before the image

    def run_args(self, env_file: Path) -> list[str]:
        """Arguments after `docker`; the environment comes from `env_file` (written by
        `write_env_file`), so no value appears in a process list."""
        args = ["run", "--detach", "--name", self.container, *self.options]
        args += ["--env-file", str(env_file)]
        for volume, target in self.volumes:
            args += ["--volume", f"{volume}:{target}"]
        for port in self.ports:
            args += ["--publish", port]
        args += self.healthcheck
        args.append(self.image)
        return args + list(self.command or [])

    def write_env_file(self, path: Path) -> Path:
        lines = []
        for key, value in self.env.items():
            if "\n" in value:
                raise ComposeError(f"{self.service}: {key} spans lines; docker --env-file can't")
            lines.append(f"{key}={value}")
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path


def unescape(value: Any, where: str) -> Any:
    """Compose's interpolation: `$$` is a literal `$`. Variables (`$X`, `${X}`) are not
    used by compose.yaml, and refused here rather than half-done."""
    if isinstance(value, str):
        if re.search(r"(?<!\$)\$(?!\$)", value.replace("$$", "")):
            raise ComposeError(f"{where}: variable interpolation is not translated: {value!r}")
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(item, where) for item in value]
    if isinstance(value, dict):
        return {key: unescape(item, where) for key, item in value.items()}
    return value


def parse_env_file(path: Path) -> dict[str, str]:
    """A Compose env file: KEY=VALUE lines; blank lines and `#` comments skipped; a value in
    matching single or double quotes loses them; ` #` starts a comment after an unquoted
    value."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            raise ComposeError(f"{path}:{number}: not KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        values[key] = value
    return values


def duration_seconds(text: str | int | float) -> int:
    """Compose durations ("1m30s", "60s", "500ms") in whole seconds (at least 1)."""
    if isinstance(text, int | float):
        return max(1, int(text))
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", text):
        total += (
            float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[unit]
        )
    if not total and text not in ("0", "0s"):
        raise ComposeError(f"not a duration: {text!r}")
    return max(1, round(total))


def _healthcheck(service: str, spec: dict[str, Any] | None) -> list[str]:
    if spec is None:
        return []  # the image's own HEALTHCHECK, as Compose does
    if spec.get("disable"):
        return ["--no-healthcheck"]
    test = spec["test"]
    if isinstance(test, str):
        command = test
    elif test[0] == "NONE":
        return ["--no-healthcheck"]
    elif test[0] == "CMD":
        command = shlex.join(test[1:])
    elif test[0] == "CMD-SHELL":
        command = test[1]
    else:
        raise ComposeError(f"{service}: healthcheck test {test[0]!r}")
    options = ["--health-cmd", command]
    for key, flag in (
        ("interval", "--health-interval"),
        ("timeout", "--health-timeout"),
        ("start_period", "--health-start-period"),
    ):
        if key in spec:
            options += [flag, f"{duration_seconds(spec[key])}s"]
    if "retries" in spec:
        options += ["--health-retries", str(int(spec["retries"]))]
    return options


def enabled_services(compose: dict[str, Any], profiles: tuple[str, ...] = ()) -> list[str]:
    """Services Compose starts with these profiles, in file order."""
    return [
        name
        for name, spec in compose["services"].items()
        if not spec.get("profiles") or set(spec["profiles"]) & set(profiles)
    ]


def plan(
    compose: dict[str, Any],
    *,
    compose_dir: Path,
    project: str | None = None,
    profiles: tuple[str, ...] = (),
    images: dict[str, str] | None = None,
    ports: str = "compose",
) -> list[ServiceRun]:
    """The enabled services as `ServiceRun`s, dependencies before dependants.

    `images` replaces image names (the stand-ins for postgres and redis). `ports`:
    "compose" publishes as the file says; "loopback" publishes each container port on a
    free port of 127.0.0.1 instead (a test run must not take the machine's port 8000)."""
    project = project or compose["name"]
    images = images or {}
    names = enabled_services(compose, profiles)
    declared_volumes = set((compose.get("volumes") or {}).keys())
    runs: dict[str, ServiceRun] = {}
    for name in names:
        spec = unescape(compose["services"][name], f"service {name}")
        unknown = set(spec) - KNOWN_KEYS
        if unknown:
            raise ComposeError(f"{name}: not translated to docker run: {sorted(unknown)}")
        env: dict[str, str] = {}
        for entry in spec.get("env_file", []):
            entry = {"path": entry, "required": True} if isinstance(entry, str) else entry
            path = compose_dir / entry["path"]
            if path.is_file():
                env.update(parse_env_file(path))
            elif entry.get("required", True):
                raise ComposeError(f"{name}: env_file {path} is missing")
        environment = spec.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        env.update({key: "" if value is None else str(value) for key, value in environment.items()})

        volumes = []
        for entry in spec.get("volumes", []):
            source, target = entry.split(":", 1)
            if source not in declared_volumes:
                raise ComposeError(f"{name}: only named volumes are translated: {entry}")
            volumes.append((f"{project}_{source}", target))

        published = []
        for entry in spec.get("ports", []):
            entry = str(entry)
            container_port = entry.rsplit(":", 1)[-1]
            published.append(entry if ports == "compose" else f"127.0.0.1::{container_port}")

        aliases = [name]
        for network, settings in (spec.get("networks") or {}).items():
            if network != "default":
                raise ComposeError(f"{name}: only the default network is translated")
            aliases += list((settings or {}).get("aliases", []))

        depends_on = spec.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {dep: {"condition": "service_started"} for dep in depends_on}
        for dependency, condition in depends_on.items():
            if condition.get("condition", "service_started") not in CONDITIONS:
                raise ComposeError(f"{name}: depends_on condition {condition}")
            if dependency not in names and condition.get("required", True):
                raise ComposeError(f"{name} needs {dependency}, which is not enabled")
        depends_on = {dep: cond for dep, cond in depends_on.items() if dep in names}

        restart = spec.get("restart", "no")
        restart = "no" if restart is False else str(restart)
        options = [
            "--label",
            f"com.docker.compose.project={project}",
            "--label",
            f"com.docker.compose.service={name}",
            "--network",
            f"{project}_default",
            *[item for alias in aliases for item in ("--network-alias", alias)],
            "--restart",
            restart,
        ]
        if "stop_grace_period" in spec:
            options += ["--stop-timeout", str(duration_seconds(spec["stop_grace_period"]))]
        image = spec.get("image")
        if not image:
            raise ComposeError(f"{name}: no image name")
        command = spec.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        runs[name] = ServiceRun(
            service=name,
            container=f"{project}-{name}-1",
            image=images.get(image, image),
            command=command,
            env=env,
            volumes=volumes,
            ports=published,
            aliases=aliases,
            depends_on=depends_on,
            exits=restart == "no",
            healthcheck=_healthcheck(name, spec.get("healthcheck")),
            options=options,
        )
    return _dependencies_first(runs)


def _dependencies_first(runs: dict[str, ServiceRun]) -> list[ServiceRun]:
    ordered: list[ServiceRun] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if any(run.service == name for run in ordered):
            return
        if name in visiting:
            raise ComposeError(f"depends_on cycle through {name}")
        visiting.add(name)
        for dependency in runs[name].depends_on:
            visit(dependency)
        visiting.discard(name)
        ordered.append(runs[name])

    for name in runs:
        visit(name)
    return ordered


def load(path: Path) -> dict[str, Any]:
    import yaml  # PyYAML: a dev dependency (the venv); only this reads YAML

    return yaml.safe_load(path.read_text())

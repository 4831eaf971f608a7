"""The image and `make image-test`, without Docker: the `docker run` commands that
infra/compose_run.py makes from infra/compose.yaml match the file (services, commands,
environment, volumes, health checks, order), so the test run cannot drift from compose;
the Dockerfile takes its base as a build argument; the build context lets in every package;
and the test driver's own pieces (TOTP codes, the package-index secrets) do what they say.

`make image-test` itself (Docker, minutes) runs in CI after `make test` (.ci/run)."""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


@pytest.fixture
def compose_run(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(INFRA))
    return importlib.import_module("compose_run")


@pytest.fixture
def image_test(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(INFRA))
    return importlib.import_module("image_test")


@pytest.fixture
def compose_copy(tmp_path: Path) -> Path:
    """compose.yaml and env.example alone (a developer's infra/.env must not count)."""
    for name in ("compose.yaml", "env.example"):
        shutil.copy(INFRA / name, tmp_path / name)
    return tmp_path


def load(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "compose.yaml").read_text())


def option_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


def test_every_service_compose_starts_becomes_one_docker_run(
    compose_run: ModuleType, compose_copy: Path, tmp_path: Path
) -> None:
    compose = load(compose_copy)
    runs = compose_run.plan(compose, compose_dir=compose_copy, project="p")
    expected = [n for n, s in compose["services"].items() if "profiles" not in s]
    assert sorted(run.service for run in runs) == sorted(expected)
    assert {"postgres", "redis", "migrate", "seed", "web", "worker", "beat"} <= set(expected)

    example = compose_run.parse_env_file(compose_copy / "env.example")
    for run in runs:
        spec = compose["services"][run.service]
        args = run.run_args(tmp_path / "x.env")
        assert run.container == f"p-{run.service}-1"
        # The image, then exactly compose's command (the web service: the image's own).
        tail = [run.image, *(spec.get("command") or [])]
        assert [a.replace("$$", "$") for a in args[-len(tail) :]] == [
            t.replace("$$", "$") for t in tail
        ]
        # The environment: the env files', then the service's own.
        env = dict(example) if "env_file" in spec else {}
        env.update({k: str(v) for k, v in (spec.get("environment") or {}).items()})
        assert run.env == env, run.service
        # Named volumes, under the project's name.
        volumes = [f"p_{v}" for v in spec.get("volumes", [])]
        assert option_values(args, "--volume") == volumes, run.service
        assert "com.docker.compose.project=p" in option_values(args, "--label")
        assert option_values(args, "--network") == ["p_default"]
        aliases = [run.service, *spec.get("networks", {}).get("default", {}).get("aliases", [])]
        assert option_values(args, "--network-alias") == aliases
        assert option_values(args, "--restart") == [spec.get("restart", "no")]
        # Health checks as compose gives them; none for the one-off services.
        health = spec.get("healthcheck", {})
        if health.get("disable"):
            assert "--no-healthcheck" in args
        elif health:
            command = option_values(args, "--health-cmd")[0]
            kind, *test = [t.replace("$$", "$") for t in health["test"]]
            if kind == "CMD":
                assert shlex.split(command) == test, run.service
            else:
                assert kind == "CMD-SHELL" and [command] == test, run.service
            assert option_values(args, "--health-retries") == [str(health["retries"])]

    web = next(run for run in runs if run.service == "web")
    assert "carevoice.localhost" in web.aliases
    assert web.ports == ["8000:8000"]
    assert web.env["BASE_DOMAIN"] == "carevoice.localhost"
    worker = next(run for run in runs if run.service == "worker")
    assert "celery@$HOSTNAME" in option_values(worker.run_args(tmp_path / "x"), "--health-cmd")[0]
    assert option_values(worker.options, "--stop-timeout") == ["60"]


def test_dependencies_start_first_and_the_test_publishes_on_loopback(
    compose_run: ModuleType, compose_copy: Path
) -> None:
    compose = load(compose_copy)
    runs = compose_run.plan(
        compose,
        compose_dir=compose_copy,
        project="p",
        images={"postgres:18": "standin-pg", "redis:8": "standin-redis"},
        ports="loopback",
    )
    order = [run.service for run in runs]
    for run in runs:
        for dependency in run.depends_on:
            assert order.index(dependency) < order.index(run.service)
    assert "stripe" not in runs[order.index("seed")].depends_on  # its profile is off
    images = {run.service: run.image for run in runs}
    assert images["postgres"] == "standin-pg" and images["redis"] == "standin-redis"
    assert images["web"] == "carevoice:latest"
    assert runs[order.index("web")].ports == ["127.0.0.1::8000"]
    assert [run.service for run in runs if run.exits] == ["migrate", "seed"]

    with_stripe = compose_run.plan(compose, compose_dir=compose_copy, profiles=("stripe",))
    assert {"stripe", "stripe-webhook"} <= {run.service for run in with_stripe}


def test_what_is_not_translated_is_refused(compose_run: ModuleType, compose_copy: Path) -> None:
    compose = load(compose_copy)
    compose["services"]["web"]["privileged"] = True
    with pytest.raises(compose_run.ComposeError, match="privileged"):
        compose_run.plan(compose, compose_dir=compose_copy)

    compose = load(compose_copy)
    compose["services"]["web"]["environment"] = {"X": "${HOME}"}
    with pytest.raises(compose_run.ComposeError, match="interpolation"):
        compose_run.plan(compose, compose_dir=compose_copy)

    compose = load(compose_copy)
    compose["services"]["web"]["volumes"] = ["./here:/there"]
    with pytest.raises(compose_run.ComposeError, match="named volumes"):
        compose_run.plan(compose, compose_dir=compose_copy)

    (compose_copy / "env.example").unlink()
    with pytest.raises(compose_run.ComposeError, match="env.example"):
        compose_run.plan(load(compose_copy), compose_dir=compose_copy)


def test_an_optional_env_file_overrides_the_example(
    compose_run: ModuleType, compose_copy: Path
) -> None:
    (compose_copy / ".env").write_text('SECRET_KEY="from .env"\nLOG_LEVEL=DEBUG # noisy\n')
    runs = compose_run.plan(load(compose_copy), compose_dir=compose_copy)
    web = next(run for run in runs if run.service == "web")
    assert web.env["SECRET_KEY"] == "from .env"
    assert web.env["LOG_LEVEL"] == "DEBUG"
    assert web.env["BASE_DOMAIN"] == "carevoice.localhost"


def test_env_file_written_for_docker_holds_the_environment(
    compose_run: ModuleType, compose_copy: Path, tmp_path: Path
) -> None:
    runs = compose_run.plan(load(compose_copy), compose_dir=compose_copy)
    web = next(run for run in runs if run.service == "web")
    path = web.write_env_file(tmp_path / "web.env")
    assert path.stat().st_mode & 0o077 == 0
    assert compose_run.parse_env_file(path) == web.env
    assert option_values(web.run_args(path), "--env-file") == [str(path)]


# --- the Dockerfile and the build context ----------------------------------------------------


def test_dockerfile_takes_its_base_as_a_build_argument() -> None:
    text = (INFRA / "Dockerfile").read_text()
    instructions = [
        line.strip()
        for line in text.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert instructions[0] == "ARG PYTHON_IMAGE=python:3.11-slim"
    bases = [line.split()[1] for line in instructions if line.startswith("FROM ")]
    stages = {line.split()[-1] for line in instructions if line.startswith("FROM ")}
    assert all(base == "${PYTHON_IMAGE}" or base in stages for base in bases), bases
    # A `# syntax=` line would fetch the Dockerfile frontend from a registry.
    assert not re.search(r"^#\s*syntax\s*=", text, re.M)
    # Nothing runs pip or python from the base: Debian's python3 has no pip.
    first_venv = text.index("python3 -m venv")
    assert not re.search(r"\b(pip|python) ", text[: text.index("RUN ")])
    assert "pip " not in text[text.index("RUN ") : first_venv].replace("/opt/pip/bin/pip", "")


def test_build_context_lets_in_every_package_and_nothing_local() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages | {"manage.py", "pyproject.toml", "constraints.txt", "locale"} == allowed
    assert "COPY . ./" in (INFRA / "Dockerfile").read_text()


@pytest.mark.parametrize("script", sorted((INFRA / "standin").glob("*.sh")), ids=lambda p: p.name)
def test_standin_entrypoints_are_valid_shell(script: Path) -> None:
    result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_standin_cache_key_follows_the_recipe(image_test: ModuleType) -> None:
    postgres = next(s for s in image_test.STANDINS if s.name == "postgres")
    key = image_test.image_key(postgres)
    changed = image_test.Standin("postgres", (*postgres.packages, "less"), "postgres:18")
    assert image_test.rootfs_key(changed) != image_test.rootfs_key(postgres)
    assert image_test.standin_tag(postgres).endswith(f":{key}")
    # The entrypoint is part of the image's key.
    assert "postgres-entrypoint.sh" in {p.name for p in (INFRA / "standin").glob("postgres*")}


# --- the driver's own pieces -------------------------------------------------------------


def test_totp_codes_are_the_ones_the_second_factor_accepts(image_test: ModuleType) -> None:
    from django_otp.oath import TOTP

    key = "JBSWY3DPEHPK3PXP"
    import base64

    for when in (0, 59, 1_700_000_000, 1_800_000_029):
        totp = TOTP(base64.b32decode(key), step=30, t0=0, digits=6)
        totp.time = when
        assert image_test.totp(key, when) == f"{totp.token():06d}"


def test_pip_secrets_carry_the_hosts_index_and_ca_but_no_local_paths(
    image_test: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    listed = (
        "global.index-url='https://index.invalid/simple'\n"
        "global.extra-index-url='file:///opt/local/simple https://more.invalid/simple'\n"
        "global.find-links='/opt/wheels'\n"
        f"global.cert='{ca}'\n"
    )

    def fake_run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 0, stdout=listed, stderr="")

    monkeypatch.setattr(image_test.subprocess, "run", fake_run)
    options = image_test.pip_secrets(tmp_path)
    assert f"id=pip-ca.crt,src={ca}" in options
    conf = (tmp_path / "pip.conf").read_text()
    assert "index-url = https://index.invalid/simple" in conf
    assert "extra-index-url = https://more.invalid/simple" in conf
    assert "file://" not in conf and "find-links" not in conf
    assert "cert = /run/secrets/pip-ca.crt" in conf
    assert (tmp_path / "pip.conf").stat().st_mode & 0o077 == 0


def test_compose_starts_postgresql_with_the_embedded_servers_settings(compose_copy: Path) -> None:
    """Production-sized shared buffers and a lock table big enough for `backup --all`, as
    the embedded server has (config/embedded.py), and a start-up sync in one call."""
    from config.embedded import STARTUP_SETTINGS

    command = load(compose_copy)["services"]["postgres"]["command"]
    assert command[0] == "postgres"
    flags, values = command[1::2], command[2::2]
    assert len(flags) == len(values) and set(flags) == {"-c"}
    settings = dict(value.split("=", 1) for value in values)
    assert {name: settings.get(name) for name in STARTUP_SETTINGS} == STARTUP_SETTINGS
    assert settings["recovery_init_sync_method"] == "syncfs"

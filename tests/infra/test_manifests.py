"""The deployment files in infra/: Kubernetes manifests valid against Kubernetes' own JSON
schemas (bundled offline by kubernetes-validate), compose's services and their order, every
variable they set read by config/settings.py, the image's user, and nginx's server blocks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
KUBERNETES_VERSION = "1.33.0"
APP_IMAGE = "carevoice"


# --- helpers -----------------------------------------------------------------------------------


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def base_resources() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in documents(path)]


def settings_variables() -> set[str]:
    """Every variable config/settings.py reads (secrets also as NAME_FILE), and those the web
    server's own settings (config/gunicorn.py) read."""
    source = (ROOT / "config" / "settings.py").read_text()
    plain = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', source))
    gunicorn = (ROOT / "config" / "gunicorn.py").read_text()
    plain |= set(re.findall(r'(?:_positive|os\.environ\.get)\(\s*"([A-Z0-9_]+)"', gunicorn))
    secrets = set(re.findall(r'(?:env_secret|_from_env_or_runtime)\(\s*"([A-Z0-9_]+)"', source))
    return plain | secrets | {f"{name}_FILE" for name in secrets}


def pod_containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    if resource["kind"] == "Deployment" or resource["kind"] == "Job":
        return resource["spec"]["template"]["spec"]["containers"]
    return []


def compose() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "compose.yaml").read_text())


def app_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services running the Carevoice image (production target)."""
    return {
        name: service
        for name, service in data["services"].items()
        if service.get("build", {}).get("target") == "production"
    }


def env_file_names(path: Path) -> set[str]:
    """Names in an env file, including the commented-out ones it offers."""
    names = set()
    for line in path.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


# --- Kubernetes ----------------------------------------------------------------------------


def test_settings_variables_found() -> None:
    # Guards the regular expressions above: these are certainly read.
    assert {"SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL", "BASE_DOMAIN"} <= settings_variables()


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_valid_against_kubernetes_schema(path: Path) -> None:
    for resource in documents(path):
        # strict: unknown fields are errors too (a misspelt key is otherwise silently dropped).
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_schema_validation_catches_mistakes() -> None:
    web = documents(K8S / "web-deployment.yaml")[0]
    web["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)
    web = documents(K8S / "web-deployment.yaml")[0]
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "namespace" not in kustomization, "the base is namespace-free"
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifest_files()}
    for resource in base_resources():
        assert "namespace" not in resource["metadata"], resource["metadata"]["name"]


def test_keda_component_lists_its_files() -> None:
    component = yaml.safe_load((K8S / "keda" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    files = {p.name for p in (K8S / "keda").glob("*.yaml") if p.name != "kustomization.yaml"}
    assert set(component["resources"]) == files


def test_the_pieces_are_there() -> None:
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in base_resources():
        by_kind.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
    deployments = by_kind["Deployment"]
    assert set(deployments) == {"carevoice-web", "carevoice-worker", "carevoice-beat"}

    beat = deployments["carevoice-beat"]["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"]["type"] == "Recreate"

    hpa = by_kind["HorizontalPodAutoscaler"]["carevoice-web"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "carevoice-web",
    }
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    web = deployments["carevoice-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"]["requests"]["cpu"], "CPU utilisation needs a CPU request"
    # Ready only with the database and broker; alive whenever the process answers, so an
    # outage takes pods out of the Service without restarting them all in a loop.
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/livez"
    settings_env = {e["name"] for e in web.get("env", [])} | set(
        by_kind["ConfigMap"]["carevoice-settings"]["data"]
    )
    assert {"WEB_CONCURRENCY", "GUNICORN_THREADS"} <= settings_env

    job = by_kind["Job"]["carevoice-migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [
        "migrate",
        "--noinput",
    ]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"

    service = by_kind["Service"]["carevoice-web"]["spec"]
    assert service["selector"] == deployments["carevoice-web"]["spec"]["selector"]["matchLabels"]

    ingress = by_kind["Ingress"]["carevoice"]["spec"]
    hosts = {rule["host"] for rule in ingress["rules"]}
    assert hosts == {"carevoice.example", "*.carevoice.example"}
    assert set(ingress["tls"][0]["hosts"]) == hosts
    assert ingress["tls"][0]["secretName"] == "carevoice-wildcard-tls"
    assert ingress["defaultBackend"]["service"]["name"] == "carevoice-web"

    assert "carevoice-settings" in by_kind["ConfigMap"]
    assert "Secret" not in by_kind, "the base names Secrets; it never holds their values"


def test_pods_may_reach_only_dns_the_database_the_broker_mail_and_https() -> None:
    (policy,) = [r for r in base_resources() if r["kind"] == "NetworkPolicy"]
    spec = policy["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "carevoice"}
    ports = {(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]}
    assert ports == {
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", 5432),
        ("TCP", 6432),
        ("TCP", 6379),
        ("TCP", 587),
        ("TCP", 465),
        ("TCP", 443),
    }
    # Every pod the base runs is covered by it.
    for resource in base_resources():
        if pod_containers(resource):
            labels = resource["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == "carevoice", resource["metadata"]["name"]
    (ingress,) = spec["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [8000]


def test_every_pod_uses_the_settings_and_the_secret_reference() -> None:
    for resource in base_resources():
        for container in pod_containers(resource):
            name = resource["metadata"]["name"]
            assert container["image"] == APP_IMAGE, name
            assert {"configMapRef": {"name": "carevoice-settings"}} in container["envFrom"], name
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            pod = resource["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            secret_volumes = [v for v in pod["volumes"] if "secret" in v]
            assert [v["secret"]["secretName"] for v in secret_volumes] == ["carevoice-secrets"]


def test_every_variable_the_manifests_set_is_read_by_settings() -> None:
    known = settings_variables()
    set_here: set[str] = set()
    for resource in base_resources():
        if resource["kind"] == "ConfigMap":
            set_here |= set(resource["data"])
        for container in pod_containers(resource):
            set_here |= {item["name"] for item in container.get("env", [])}
    assert set_here, "no variables found"
    assert set_here - known == set()


def test_keda_scaled_object_targets_the_worker() -> None:
    # KEDA's CRD schema is not among Kubernetes' own: checked by hand.
    (scaled,) = documents(K8S / "keda" / "scaledobject.yaml")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["kind"] == "ScaledObject"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "carevoice-worker"
    from django.conf import settings

    triggers = scaled["spec"]["triggers"]
    assert all(trigger["type"] == "redis" for trigger in triggers)
    assert all(int(trigger["metadata"]["listLength"]) > 0 for trigger in triggers)
    # A trigger for every queue a task can be routed to, and no other.
    lists = sorted(trigger["metadata"]["listName"] for trigger in triggers)
    assert lists == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)


def kubectl_kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    kustomize = shutil.which("kustomize")
    if kubectl:
        command = [kubectl, "kustomize", str(directory)]
    elif kustomize:
        command = [kustomize, "build", str(directory)]
    else:
        pytest.skip("neither kubectl nor kustomize is installed: the build is not checked")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_kustomize_builds_the_base_and_it_validates() -> None:
    resources = kubectl_kustomize(K8S)
    assert len(resources) == len(base_resources())
    for resource in resources:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    images = {c["image"] for r in resources for c in pod_containers(r) if r["kind"] != "ConfigMap"}
    assert images == {"carevoice:latest"}


def test_kustomize_builds_an_overlay_with_the_keda_component(tmp_path: Path) -> None:
    shutil.copytree(K8S, tmp_path / "k8s")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../k8s]\ncomponents: [../k8s/keda]\nnamespace: carevoice\n"
    )
    resources = kubectl_kustomize(overlay)
    kinds = [r["kind"] for r in resources]
    assert "ScaledObject" in kinds
    assert all(r["metadata"].get("namespace") == "carevoice" for r in resources)


def queues_consumed(deployment: dict[str, Any]) -> list[str]:
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    if "-Q" not in command:
        return ["(all)"]
    return command[command.index("-Q") + 1].split(",")


def test_alert_workers_component_gives_alerts_pods_of_their_own(tmp_path: Path) -> None:
    from django.conf import settings

    shutil.copytree(K8S, tmp_path / "k8s")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../k8s]\ncomponents: [../k8s/alert-workers]\nnamespace: carevoice\n"
    )
    resources = kubectl_kustomize(overlay)
    for resource in resources:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    deployments = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Deployment"}
    main, alerts = deployments["carevoice-worker"], deployments["carevoice-worker-alerts"]
    # Between them every queue is consumed, each by one Deployment only.
    consumed = queues_consumed(main) + queues_consumed(alerts)
    assert sorted(consumed) == sorted(q.name for q in settings.CELERY_TASK_QUEUES)
    assert queues_consumed(alerts) == ["alerts"]
    # Selectors apart, so neither Deployment adopts the other's pods.
    assert main["spec"]["selector"] != alerts["spec"]["selector"]
    # The same pod otherwise: settings, secrets, volumes, security, resources.
    main_pod, alerts_pod = main["spec"]["template"]["spec"], alerts["spec"]["template"]["spec"]
    for key in ("securityContext", "volumes", "terminationGracePeriodSeconds"):
        assert main_pod[key] == alerts_pod[key], key
    main_box, alerts_box = main_pod["containers"][0], alerts_pod["containers"][0]
    for key in ("image", "envFrom", "env", "resources", "securityContext", "volumeMounts"):
        assert main_box[key] == alerts_box[key], key


# --- compose -------------------------------------------------------------------------------


def test_compose_has_the_services_and_their_order() -> None:
    data = compose()
    services = data["services"]
    for name in ("postgres", "redis", "migrate", "seed", "web", "worker", "beat", "stripe"):
        assert name in services, name

    completed = {"migrate": {"condition": "service_completed_successfully"}}
    for name in ("web", "worker", "beat", "seed"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == completed["migrate"], name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["seed"]["command"][-1] == "seed_demo"
    assert "celery" in services["worker"]["command"]
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    assert "command" not in services["web"], "web runs the image's default command (gunicorn)"

    for name in ("postgres", "redis", "web", "worker", "beat", "stripe"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])

    # The local Stripe server only with --profile stripe, from the same Dockerfile.
    for name in ("stripe", "stripe-webhook"):
        assert services[name]["profiles"] == ["stripe"]
    assert services["stripe"]["build"]["dockerfile"] == "infra/Dockerfile"
    assert services["stripe"]["build"]["target"] == "localstripe"
    assert services["seed"]["depends_on"]["stripe"]["required"] is False
    for service in services.values():
        if "profiles" not in service:
            for dependency in service.get("depends_on", {}):
                assert "profiles" not in services[dependency] or (
                    service["depends_on"][dependency].get("required") is False
                )


def test_compose_env_comes_from_the_example_file() -> None:
    data = compose()
    for name, service in app_services(data).items():
        paths = [entry["path"] for entry in service["env_file"]]
        assert paths == ["env.example", ".env"], name
        assert (INFRA / paths[0]).is_file()
        assert service["image"] == "carevoice:latest"


def test_every_variable_compose_sets_is_read_by_settings() -> None:
    known = settings_variables()
    names = env_file_names(INFRA / "env.example")
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "STRIPE_API_BASE"} <= names
    for service in app_services(compose()).values():
        environment = service.get("environment", {})
        names |= set(environment) if isinstance(environment, dict) else set()
    assert names - known == set()


def test_env_example_holds_no_real_secrets() -> None:
    values = {}
    for line in (INFRA / "env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    assert "change-me" in values["SECRET_KEY"]
    assert "change-me" in values["FIELD_ENCRYPTION_KEY"]
    assert "change-me" in values["DATABASE_URL"]
    password = compose()["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password in values["DATABASE_URL"]


# --- Dockerfile ----------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions per stage (continuation lines joined)."""
    text = (INFRA / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(1)
            stages[current] = []
        if current:
            stages[current].append(line)
    return stages


def effective_user(stages: dict[str, list[str]], stage: str) -> str:
    instructions = stages[stage]
    users = [line.split(None, 1)[1] for line in instructions if line.upper().startswith("USER ")]
    if users:
        return users[-1]
    parent = re.match(r"FROM\s+(\S+)", instructions[0], re.IGNORECASE).group(1)
    return effective_user(stages, parent) if parent in stages else "root"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    stages = dockerfile_stages()
    final = list(stages)[-1]
    assert final == "production"
    for stage in ("runtime", "localstripe", "production"):
        user = effective_user(stages, stage).split(":")[0]
        assert user not in ("root", "0"), stage


def test_dockerfile_builds_wheels_then_a_slim_runtime() -> None:
    stages = dockerfile_stages()
    build = " ".join(stages["build"])
    assert "pip wheel" in build and "constraints.txt" in build
    runtime = " ".join(stages["runtime"])
    # The base is a build argument, the official slim image by default (tests/infra/test_image.py).
    assert re.search(r"FROM \$\{PYTHON_IMAGE\} AS runtime", runtime)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in (INFRA / "Dockerfile").read_text()
    assert "--no-index" in runtime
    assert "collectstatic" in runtime
    assert "HEALTHCHECK" in runtime and "/healthz" in runtime
    assert 'CMD ["gunicorn", "-c", "python:config.gunicorn", "config.wsgi"]' in runtime


def test_dockerfile_bakes_in_no_secrets() -> None:
    stages = dockerfile_stages()
    for stage, instructions in stages.items():
        for line in instructions:
            if line.upper().startswith(("ENV ", "ARG ")):
                for secret in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL", "STRIPE"):
                    assert secret not in line, f"{stage}: {line}"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".data", ".env"):
        assert entry in ignored


# --- nginx ---------------------------------------------------------------------------------


def test_nginx_server_blocks_and_headers() -> None:
    conf = (INFRA / "nginx" / "carevoice.conf").read_text()
    app = (INFRA / "nginx" / "carevoice-app.conf").read_text()
    assert re.search(r"server_name\s+carevoice\.example\s+\*\.carevoice\.example;", conf)
    assert re.search(r"listen 443 ssl http2 default_server;", conf), "custom domains reach Django"
    assert conf.count("include /etc/nginx/snippets/carevoice-app.conf;") == 2
    assert "proxy_pass http://carevoice_app;" in app
    for header in (
        'Strict-Transport-Security "max-age=31536000; includeSubDomains" always',
        'X-Content-Type-Options "nosniff" always',
        'Referrer-Policy "same-origin" always',
    ):
        assert f"add_header {header};" in app, header
    assert "Content-Security-Policy" not in re.sub(r"#.*", "", app + conf), "Django sets CSP"
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in app
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in app
    assert "proxy_set_header Host $host;" in app
    assert re.search(r"client_max_body_size \d+m;", app)
    assert "location /static/" in app
    assert "location ~ /_dash-component-suites/" in app
    assert app.count("immutable") == 2


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if nginx is None:
        pytest.skip("nginx is not installed here, so `nginx -t` was not run (text checks above)")
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carevoice.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "t.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "t.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    shutil.copy(INFRA / "nginx" / "carevoice-app.conf", tmp_path / "carevoice-app.conf")
    conf = (INFRA / "nginx" / "carevoice.conf").read_text()
    conf = conf.replace(
        "/etc/nginx/snippets/carevoice-app.conf", str(tmp_path / "carevoice-app.conf")
    )
    conf = re.sub(r"/etc/nginx/tls/\S+\.crt", str(tmp_path / "t.crt"), conf)
    conf = re.sub(r"/etc/nginx/tls/\S+\.key", str(tmp_path / "t.key"), conf)
    (tmp_path / "carevoice.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n"
        f"  include {tmp_path}/carevoice.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_copies_every_package() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    # The runtime copies the build context whole; .dockerignore is a whitelist of what enters.
    stages = dockerfile_stages()
    assert "COPY . ./" in stages["runtime"]
    allowed = {
        line.strip()[1:]
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip().startswith("!")
    }
    assert packages | {"manage.py"} <= allowed, packages - allowed

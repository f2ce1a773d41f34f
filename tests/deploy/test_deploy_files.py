"""The deployment files (Dockerfile, deploy/): each is checked by the tool that reads it, and
every setting and metric they name is one the service has.

docker-compose, kubectl and promtool come from scripts/provision-deploy-tools.sh, hadolint from
the dev dependencies. Outside CI a missing tool skips its checks; with CI=true it fails them.
KUBECTL=/path/to/kubectl renders with another kubectl: the manifests must work with Debian 12's
kubectl 1.20 (kustomize 2.0.3) as well as with current releases.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from lexbase.core.config import Settings
from tests.deploy import promql
from tests.deploy.tools import ROOT, run, tool

DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-deploy-tests-9a8b"

# The metrics the dashboard and the alerts may use, as the service exposes them.
METRICS: promql.Metrics = {
    "lexbase_http_requests_total": ("counter", frozenset({"method", "route", "status"})),
    "lexbase_http_request_duration_seconds": (
        "histogram",
        frozenset({"method", "route", "status"}),
    ),
    "lexbase_http_requests_in_flight": ("gauge", frozenset()),
    "lexbase_documents_processed_total": ("counter", frozenset({"stage", "outcome"})),
    "lexbase_jobs_total": ("counter", frozenset({"type", "outcome"})),
    "lexbase_job_duration_seconds": ("histogram", frozenset({"type", "outcome"})),
    "lexbase_queue_depth": ("gauge", frozenset()),
    "lexbase_queue_oldest_age_seconds": ("gauge", frozenset()),
    "lexbase_workers": ("gauge", frozenset()),
    "lexbase_model_calls_total": ("counter", frozenset({"provider", "model", "outcome"})),
    "lexbase_model_call_duration_seconds": ("histogram", frozenset({"provider", "model"})),
    "lexbase_model_tokens_total": ("counter", frozenset({"provider", "model", "kind"})),
    "lexbase_model_cost_usd_total": ("counter", frozenset({"provider", "model"})),
    "lexbase_search_duration_seconds": ("histogram", frozenset({"mode"})),
    "lexbase_rate_limit_rejections_total": ("counter", frozenset({"limit"})),
    "lexbase_data_disk_free_ratio": ("gauge", frozenset()),
}


# --- Dockerfile --------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions (keyword, arguments) per stage, comments dropped, continuations joined."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    stages: list[list[tuple[str, str]]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            if keyword.upper() == "FROM":
                stages.append([])
            stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def image_environment() -> dict[str, str]:
    runtime = dockerfile_stages()[-1]
    pairs = [word for kw, args in runtime if kw == "ENV" for word in shlex.split(args)]
    return dict(pair.split("=", 1) for pair in pairs)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = tool("hadolint", Path(sys.executable).parent / "hadolint")
    run([hadolint, "--no-color", "Dockerfile"])


def test_dockerfile_builds_one_non_root_image_for_every_command() -> None:
    builder, runtime = dockerfile_stages()
    bases = {args.split()[0] for kw, args in builder + runtime if kw == "FROM"}
    assert len(bases) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases.pop())
    runs = " ".join(args for kw, args in builder if kw == "RUN")
    assert "download.pytorch.org/whl/cpu" in " ".join(args for kw, args in builder)
    assert "pip install" in runs
    assert "lexbase prepare-models" in runs
    assert "tesseract-ocr" in " ".join(args for kw, args in runtime if kw == "RUN")
    assert any(kw == "COPY" and "--from=builder /opt/venv" in args for kw, args in runtime)
    user = [args for kw, args in runtime if kw == "USER"][-1]
    assert int(user.split(":")[0]) > 0
    health = " ".join(args for kw, args in runtime if kw == "HEALTHCHECK")
    assert "/health/live" in health
    assert "curl" not in health
    assert ("ENTRYPOINT", '["lexbase"]') in runtime
    assert ("CMD", '["serve"]') in runtime
    env = image_environment()
    # Models made at build time stay visible when a volume is mounted on the data directory.
    assert not env["LEXBASE_MODEL_DIR"].startswith(env["LEXBASE_DATA_DIR"])


def test_dockerignore_sends_only_the_package() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]
    rules = [line for line in lines if not line.startswith("#")]
    assert rules[0] == "*"
    assert {rule for rule in rules if rule.startswith("!")} == {
        "!pyproject.toml",
        "!README.md",
        "!src/",
    }


# --- compose -----------------------------------------------------------------------------

COMPOSE_VARIABLES = {
    "POSTGRES_PASSWORD": "postgres-password",
    "S3_ACCESS_KEY_ID": "s3-access-key",
    "S3_SECRET_ACCESS_KEY": "s3-secret-access-key",
    "METRICS_TOKEN": "metrics-token-0123456789",
}
LONG_RUNNING = ("proxy", "api-1", "api-2", "worker-1", "worker-2", "postgres", "redis", "s3")


def compose_config(workdir: Path, variables: dict[str, str]) -> str:
    """`docker-compose config` in a copy of the checkout's deployment files, with a `.env`
    made from .env.example as a new deployment would make it."""
    binary = tool("docker-compose")
    if not (workdir / "deploy").exists():
        shutil.copytree(DEPLOY, workdir / "deploy", ignore=shutil.ignore_patterns(".env"))
        shutil.copy(ROOT / "Dockerfile", workdir / "Dockerfile")
        example = (ROOT / ".env.example").read_text()
        (workdir / ".env").write_text(
            re.sub(r"^LEXBASE_SECRET_KEY=.*$", f"LEXBASE_SECRET_KEY={SECRET}", example, flags=re.M)
        )
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), **variables}
    return run([binary, "-f", "deploy/compose.yaml", "config"], cwd=workdir, env=env)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rendered: dict[str, Any] = yaml.safe_load(
        compose_config(tmp_path_factory.mktemp("compose"), COMPOSE_VARIABLES)
    )
    return rendered


def load_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings exactly as a process given only `env` would read them."""
    for key in list(os.environ):
        if key.upper().startswith("LEXBASE_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def test_compose_renders_the_distributed_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {*LONG_RUNNING, "migrate"} <= services.keys()
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
    commands = {"api-1": "serve", "api-2": "serve", "worker-1": "worker", "worker-2": "worker"}
    for name, command in commands.items():
        assert services[name]["command"] == [command]
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:0.8.")
    stores = (("postgres", "/var/lib/postgresql/data"), ("redis", "/data"), ("s3", "/data"))
    for name, path in stores:
        (volume,) = services[name]["volumes"]
        # docker-compose 1.x renders the short form, Compose v2 the long one.
        mount = (
            volume.split(":")[:2]
            if isinstance(volume, str)
            else [volume["source"], volume["target"]]
        )
        assert mount in ([key, path] for key in compose["volumes"])


def test_compose_environment_selects_the_distributed_backends(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    for name in ("api-1", "worker-1", "migrate"):
        env = services[name]["environment"]
        # ../.env (from .env.example) must not undo what the image sets (bind address, models).
        for key, value in image_environment().items():
            if key.startswith("LEXBASE_"):
                assert env[key] == value, f"{name}: {key}"
        settings = load_settings(env, monkeypatch)
        assert settings.is_production
        assert settings.job_backend == "celery"
        assert settings.blob_backend == "s3"
        assert settings.resolved_database_url.startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in settings.resolved_database_url
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.s3_endpoint_url == "http://s3:9000"


def test_compose_proxy_and_scrape_targets_match_the_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = services["api-1"]["environment"]
    proxy_address = services["proxy"]["networks"]["default"]["ipv4_address"]
    assert env["LEXBASE_TRUSTED_PROXIES"] == proxy_address
    upstreams = re.findall(
        r"^\s*server\s+([\w.-]+:\d+)", (DEPLOY / "nginx/nginx.conf").read_text(), re.M
    )
    apis = sorted(name for name in services if name.startswith("api-"))
    workers = sorted(name for name in services if name.startswith("worker-"))
    assert upstreams == [f"{name}:{env['LEXBASE_PORT']}" for name in apis]
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["lexbase-api"] == [f"{name}:{env['LEXBASE_PORT']}" for name in apis]
    port = env["LEXBASE_WORKER_METRICS_PORT"]
    assert targets["lexbase-worker"] == [f"{name}:{port}" for name in workers]


def test_compose_refuses_to_run_without_its_passwords(tmp_path: Path) -> None:
    variables = {k: v for k, v in COMPOSE_VARIABLES.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(AssertionError, match=re.escape("set POSTGRES_PASSWORD in deploy/.env")):
        compose_config(tmp_path, variables)


# --- Kubernetes --------------------------------------------------------------------------


def kubectl() -> str:
    return os.environ.get("KUBECTL") or tool("kubectl")


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    out = run([kubectl(), "kustomize", str(DEPLOY / "k8s" / request.param)])
    return [doc for doc in yaml.safe_load_all(out) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return bool(selector) and selector.items() <= labels.items()


def test_manifests_validate_against_the_kubernetes_schemas(
    manifests: list[dict[str, Any]],
) -> None:
    errors = []
    for doc in manifests:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not errors, "\n".join(errors)
    # Secret values are the operator's: the manifests only name the Secret.
    assert not of_kind(manifests, "Secret")


def test_deployments_probe_and_confine_their_pods(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    ((config_name, config),) = of_kind(manifests, "ConfigMap").items()
    roles = (
        ("lexbase-api", "serve", "http", "LEXBASE_HOST", "LEXBASE_PORT"),
        (
            "lexbase-worker",
            "worker",
            "metrics",
            "LEXBASE_WORKER_METRICS_HOST",
            "LEXBASE_WORKER_METRICS_PORT",
        ),
    )
    for name, args, port_name, host_setting, port_setting in roles:
        template = deployments[name]["spec"]["template"]
        pod = template["spec"]
        (container,) = pod["containers"]
        assert container["args"] == [args]
        # Served on every address, on the port the probes, the Service and Prometheus use.
        port = config["data"][port_setting]
        assert config["data"][host_setting] == "0.0.0.0"  # noqa: S104 - inside the container
        assert {"name": port_name, "containerPort": int(port)} in container["ports"]
        assert template["metadata"]["annotations"]["prometheus.io/port"] == port
        assert container["livenessProbe"]
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        volumes = {v["name"]: v for v in pod["volumes"]}
        tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
        assert "emptyDir" in volumes[tmp["name"]]
        # The generated ConfigMap's hashed name reached the pods.
        refs = [e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e]
        assert refs == [config_name]
        secrets = {
            e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e
        }
        assert secrets == {"lexbase-secrets"}
    (api,) = deployments["lexbase-api"]["spec"]["template"]["spec"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"


def test_kubernetes_settings_form_a_valid_configuration(
    manifests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    stand_ins = {
        "LEXBASE_SECRET_KEY": SECRET,
        "LEXBASE_DATABASE_URL": "postgresql://lexbase:password@postgres:5432/lexbase",
        "LEXBASE_REDIS_URL": "redis://redis:6379/0",
        "LEXBASE_METRICS_TOKEN": "metrics-token-0123456789",
        "LEXBASE_S3_ACCESS_KEY_ID": "s3-access-key",
        "LEXBASE_S3_SECRET_ACCESS_KEY": "s3-secret-access-key",
    }
    pods = [d["spec"]["template"]["spec"] for d in manifests if d["kind"] in {"Deployment", "Job"}]
    for pod in pods:
        (container,) = pod["containers"]
        env = dict(config["data"])
        for variable in container["env"]:
            ref = variable.get("valueFrom", {}).get("secretKeyRef", {})
            env[variable["name"]] = stand_ins[ref["key"]] if ref else variable["value"]
        settings = load_settings(env, monkeypatch)
        assert settings.is_production
        assert (settings.job_backend, settings.blob_backend) == ("celery", "s3")


def test_scaling_disruption_migration_and_network_policies(
    manifests: list[dict[str, Any]],
) -> None:
    deployments = of_kind(manifests, "Deployment")
    pod_labels = {
        name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()
    }
    autoscalers = of_kind(manifests, "HorizontalPodAutoscaler")
    assert {a["apiVersion"] for a in autoscalers.values()} == {"autoscaling/v2"}
    assert {a["spec"]["scaleTargetRef"]["name"] for a in autoscalers.values()} == set(deployments)
    budgets = of_kind(manifests, "PodDisruptionBudget").values()
    for labels in pod_labels.values():
        assert any(selects(b["spec"]["selector"]["matchLabels"], labels) for b in budgets)
    (job,) = of_kind(manifests, "Job").values()
    job_pod = job["spec"]["template"]
    assert job_pod["spec"]["containers"][0]["args"] == ["migrate"]
    policies = of_kind(manifests, "NetworkPolicy").values()
    for labels in [*pod_labels.values(), job_pod["metadata"]["labels"]]:
        (policy,) = [
            p for p in policies if selects(p["spec"]["podSelector"]["matchLabels"], labels)
        ]
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert {53, 5432} <= ports
        for rule in policy["spec"].get("ingress", []):
            assert all("namespaceSelector" in peer for peer in rule["from"])
    (worker_policy,) = [p for p in policies if p["metadata"]["name"] == "lexbase-worker"]
    assert [p["port"] for r in worker_policy["spec"]["ingress"] for p in r["ports"]] == ["metrics"]


def test_production_overlay_names_namespace_image_and_ingress() -> None:
    out = run([kubectl(), "kustomize", str(DEPLOY / "k8s/overlays/production")])
    docs = [doc for doc in yaml.safe_load_all(out) if doc]
    assert {doc["metadata"].get("namespace") for doc in docs} == {"lexbase"}
    images = {
        c["image"]
        for doc in docs
        if doc["kind"] in {"Deployment", "Job"}
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 1
    assert images.pop().startswith("registry.example.com/lexbase:")
    (ingress,) = of_kind(docs, "Ingress").values()
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    service = of_kind(docs, "Service")[path["backend"]["service"]["name"]]
    assert path["backend"]["service"]["port"]["name"] in {
        p["name"] for p in service["spec"]["ports"]
    }


# --- Prometheus and Grafana --------------------------------------------------------------


def dashboard_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana/lexbase.json").read_text())
    return [
        target["expr"]
        for panel in dashboard_panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


def alert_rules() -> list[dict[str, Any]]:
    config = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    return [rule for group in config["groups"] for rule in group["rules"]]


def test_prometheus_config_and_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = tool("promtool")
    # The token file is written by the Prometheus container at start; here, a stand-in.
    token = tmp_path / "metrics-token"
    token.write_text("token")
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(DEPLOY / "prometheus/alerts.yml", tmp_path / "alerts.yml")
    run([promtool, "check", "config", "--lint=all", "--lint-fatal", "prometheus.yml"], tmp_path)
    run([promtool, "check", "rules", "--lint=all", "--lint-fatal", "alerts.yml"], tmp_path)
    run([promtool, "test", "rules", "alerts.test.yml"], DEPLOY / "prometheus")


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = tool("promtool")
    rules = [
        {"record": f"lexbase:dashboard_query_{i}", "expr": q.replace("$__rate_interval", "5m")}
        for i, q in enumerate(dashboard_queries())
    ]
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]})
    )
    run([promtool, "check", "rules", "queries.yml"], tmp_path)


def test_dashboard_and_alerts_use_only_the_listed_metrics() -> None:
    rules = alert_rules()
    expressions = [*dashboard_queries(), *(rule["expr"] for rule in rules)]
    tests = yaml.safe_load((DEPLOY / "prometheus/alerts.test.yml").read_text())["tests"]
    series = [s["series"] for test in tests for s in test["input_series"]]
    problems = {e: p for e in [*expressions, *series] if (p := promql.problems(e, METRICS))}
    assert not problems, json.dumps(problems, indent=2)
    used = set().union(*(promql.names(e) for e in expressions))
    unused = METRICS.keys() - {name.removesuffix("_bucket") for name in used}
    assert not unused, f"not on the dashboard nor in an alert: {unused}"
    alerted = set().union(*(promql.names(rule["expr"]) for rule in rules))
    for wanted in (
        "lexbase_http_requests_total",
        "lexbase_http_request_duration_seconds_bucket",
        "lexbase_queue_oldest_age_seconds",
        "lexbase_workers",
        "lexbase_jobs_total",
        "lexbase_data_disk_free_ratio",
    ):
        assert wanted in alerted, f"no alert on {wanted}"


# --- settings ----------------------------------------------------------------------------


def test_every_setting_named_by_the_deployment_exists_and_is_documented() -> None:
    prefix = Settings.model_config.get("env_prefix", "")
    assert prefix == "LEXBASE_"
    assert not Settings.model_config.get("case_sensitive", False)
    files = [ROOT / "Dockerfile", *(p for p in DEPLOY.rglob("*") if p.is_file())]
    named = {
        name: path.relative_to(ROOT)
        for path in files
        for name in re.findall(r"\bLEXBASE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())
    }
    assert {"LEXBASE_JOB_BACKEND", "LEXBASE_DATABASE_URL", "LEXBASE_BLOB_BACKEND"} <= named.keys()
    documented = set(re.findall(r"^(LEXBASE_\w+)=", (ROOT / ".env.example").read_text(), re.M))
    missing = {
        name: str(path)
        for name, path in named.items()
        if name.removeprefix(prefix).lower() not in Settings.model_fields or name not in documented
    }
    assert not missing, f"not a documented setting of lexbase.core.config.Settings: {missing}"

"""Checks of the deployment artefacts under deploy/: offline and fast, no Docker, cluster or Redis needed.

Kubernetes manifests are validated against the schemas that kubernetes-validate ships; PromQL in the
Grafana dashboard and the alert rules is parsed with promql-parser and may only name the service's metrics.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import promql_parser
import pytest
import yaml

from tests.support import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
K8S_VERSION = "1.30.0"
CONFIG_PATH = "/etc/videohooks/videohooks.toml"
MIB_PER_WORKER = 150

COUNTERS = {
    "videohooks_deliveries_total",
    "videohooks_quarantined_total",
    "videohooks_fetch_failures_total",
    "videohooks_poll_failures_total",
    "videohooks_tokens_total",
    "videohooks_reconciled_publications_total",
}
HISTOGRAMS = {
    "videohooks_request_duration_seconds",
    "videohooks_publish_duration_seconds",
    "videohooks_publish_batch_size",
}
GAUGES = {
    "videohooks_watched_tasks",
    "videohooks_stream_length",
    "videohooks_consumer_group_lag",
    "videohooks_consumer_group_pending",
    "videohooks_redis_up",
}
# Every series name a query may select: histograms only through their exposed series.
SERIES = (
    COUNTERS | GAUGES | {f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
)
LABEL_VALUES = {
    "outcome": {
        "accepted",
        "duplicate",
        "stale",
        "quarantined",
        "unauthentic",
        "unknown_source",
        "too_large",
        "unavailable",
        "rate_limited",
    },
    "direction": {"input", "output"},
    "state": {"waiting", "reconciling", "overdue"},
}
METRIC_TOKEN = re.compile(r"\bvideohooks_[a-z0-9_]+\b")


# --------------------------------------------------------------------------------------------------
# helpers


def load_yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> dict[str, dict[str, Any]]:
    """kind -> the one object of that kind under deploy/kubernetes."""
    objects: dict[str, dict[str, Any]] = {}
    for path in manifest_files():
        for doc in load_yaml_docs(path):
            assert doc["kind"] not in objects, f"two {doc['kind']} objects"
            objects[doc["kind"]] = doc
    return objects


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's variables by values PromQL accepts, so the expression can be parsed."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}", "5m", expr)
    return re.sub(r"\$\{?[A-Za-z_]\w*\}?", ".*", expr)


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def check_promql(expr: str, where: str) -> set[str]:
    """Parse one PromQL expression; fail on unknown metrics or label values. Returns the series used."""
    try:
        sels = selectors(expr)
    except Exception as exc:  # the parser raises plain ValueError/RuntimeError with the position
        pytest.fail(f"{where}: PromQL does not parse: {exc}\n{expr}")
    assert all(sel.name for sel in sels), f"{where}: selector without a metric name in {expr!r}"
    names = {sel.name for sel in sels if sel.name}
    assert names, f"{where}: no metric selected in {expr!r}"
    # The regex catches names the parser does not see as selectors (strings, label_values, typos).
    tokens = set(METRIC_TOKEN.findall(expr))
    unknown = (names | tokens) - SERIES
    assert not unknown, f"{where}: unknown metric(s) {sorted(unknown)} in {expr!r}"
    for sel in sels:
        for matcher in sel.matchers.matchers:
            allowed = LABEL_VALUES.get(matcher.name)
            if allowed is None or ".*" in matcher.value:
                continue
            values = (
                set(matcher.value.split("|")) if matcher.op == promql_parser.MatchOp.Re else {matcher.value}
            )
            assert values <= allowed, f"{where}: {matcher.name} values {sorted(values - allowed)} never occur"
    return names


def base_metric(series: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if series.endswith(suffix) and series.removesuffix(suffix) in HISTOGRAMS:
            return series.removesuffix(suffix)
    return series


def env_refs(node: Any) -> set[str]:
    """Names of every `env:NAME` value in a parsed TOML document."""
    if isinstance(node, dict):
        return set().union(*(env_refs(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_refs(v) for v in node)) if node else set()
    if isinstance(node, str) and node.startswith("env:"):
        return {node.removeprefix("env:")}
    return set()


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)?", str(quantity))
    assert match, f"unsupported quantity {quantity!r}"
    return float(match[1]) * (units[match[2]] if match[2] else 1 / 2**20)


def option(args: list[str], name: str) -> str:
    assert name in args, f"{name} missing from {args}"
    return args[args.index(name) + 1]


# --------------------------------------------------------------------------------------------------
# Kubernetes


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_is_valid_kubernetes(path: Path) -> None:
    docs = load_yaml_docs(path)
    assert docs, f"{path.name} is empty"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {doc.get('kind')} is not valid for Kubernetes {K8S_VERSION}: {exc}")


def test_schema_validation_rejects_a_broken_manifest() -> None:
    # Guards the test above against a validator that accepts anything (e.g. a missing schema).
    broken = yaml.safe_load((K8S / "deployment.yaml").read_text())
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert sorted(listed) == sorted(p.name for p in manifest_files())
    assert set(k8s_objects()) == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
    }


def test_deployment_probes_and_draining() -> None:
    objects = k8s_objects()
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports.get("http") == 8080

    def http_probe(name: str) -> tuple[str, int]:
        get = container[name]["httpGet"]
        port = get["port"]
        return get["path"], ports[port] if isinstance(port, str) else port

    assert http_probe("livenessProbe") == ("/livez", 8080)
    assert http_probe("readinessProbe") == ("/readyz", 8080)
    if "startupProbe" in container:
        assert http_probe("startupProbe")[0] == "/livez", "a startup probe must not wait for Redis"

    pre_stop = container["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        delay = int(pre_stop["sleep"]["seconds"])
    else:
        command = pre_stop["exec"]["command"]
        assert command[0] in ("sleep", "/bin/sleep"), f"preStop should sleep, got {command}"
        delay = int(command[1])
    assert delay >= 5, "preStop must leave endpoints time to drain"
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > delay + 10, "no time left after preStop for in-flight requests to finish"


def test_deployment_security_and_resources() -> None:
    deployment = k8s_objects()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert "ALL" in security["capabilities"]["drop"]

    args = container["args"]
    assert args[0] == "serve", "args follow the image's ENTRYPOINT (videohooks)"
    assert option(args, "--config") == CONFIG_PATH
    assert option(args, "--port") == "8080"
    workers = int(option(args, "--workers"))
    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), f"{kind} must set cpu and memory"
    assert mebibytes(resources["requests"]["memory"]) >= workers * MIB_PER_WORKER
    assert mebibytes(resources["limits"]["memory"]) >= mebibytes(resources["requests"]["memory"])


def test_objects_refer_to_each_other() -> None:
    objects = k8s_objects()
    deployment = objects["Deployment"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    service = objects["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {"http", 8080}
    pdb = objects["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()

    hpa = objects["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])

    # The config volume comes from the ConfigMap and lands where --config and VIDEOHOOKS_CONFIG point.
    configmap = objects["ConfigMap"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_volumes = [v for v in volumes.values() if "configMap" in v]
    assert [v["configMap"]["name"] for v in config_volumes] == [configmap["metadata"]["name"]]
    mount = next(m for m in container["volumeMounts"] if m["name"] == config_volumes[0]["name"])
    assert f"{mount['mountPath']}/videohooks.toml" == CONFIG_PATH
    assert {"name": "VIDEOHOOKS_CONFIG", "value": CONFIG_PATH} in container.get("env", [])

    secret = objects["Secret"]
    assert [e["secretRef"]["name"] for e in container["envFrom"]] == [secret["metadata"]["name"]]


def configmap_toml() -> dict[str, Any]:
    return tomllib.loads(k8s_objects()["ConfigMap"]["data"]["videohooks.toml"])


def test_configmap_takes_every_secret_from_the_secret() -> None:
    config = configmap_toml()
    secret = k8s_objects()["Secret"]
    assert config["redis"]["url"].startswith("env:"), "the managed Redis URL carries a password: use env:"
    refs = env_refs(config)
    assert refs, "the ConfigMap should reference its secrets as env:NAME"
    missing = refs - set(secret["stringData"])
    assert not missing, f"env references with no key in the Secret: {sorted(missing)}"
    for key, value in secret["stringData"].items():
        assert re.search("fake|replace", value, re.IGNORECASE), (
            f"Secret {key} does not look like a placeholder"
        )


@pytest.mark.parametrize("which", ["kubernetes", "compose"])
def test_configs_are_accepted_by_the_service(which: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own config loader accepts both TOMLs, with the example secrets in the environment."""
    from receiver.config import parse_config

    if which == "kubernetes":
        data = configmap_toml()
        environment = k8s_objects()["Secret"]["stringData"]
    else:
        data = tomllib.loads((DEPLOY / "videohooks.compose.toml").read_text())
        # What compose would do: fill ${NAME...} in the service's environment from the example .env.
        dotenv = dict(
            line.split("=", 1)
            for line in (DEPLOY / "compose.env.example").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        environment = {
            name: re.sub(r"\$\{(\w+)[^}]*\}", lambda m: dotenv[m[1]], value)
            for name, value in compose_environment("videohooks").items()
        }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = parse_config(data, origin=which)
    assert config.redis.url and config.redis.url.startswith(("redis://", "rediss://"))
    assert {source.id for source in config.sources} == {source["id"] for source in data["sources"]}


# --------------------------------------------------------------------------------------------------
# compose


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def compose_environment(service: str) -> dict[str, str]:
    env = compose()["services"][service].get("environment", {})
    return dict(env) if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_compose_file() -> None:
    services = compose()["services"]
    assert {"redis", "videohooks"} <= set(services)
    redis, app = services["redis"], services["videohooks"]

    # Redis runs with the committed redis.conf and keeps its data in a volume.
    command = redis["command"] if isinstance(redis["command"], list) else shlex.split(redis["command"])
    conf_mounts = [v.split(":") for v in redis["volumes"] if v.split(":")[0].endswith("redis.conf")]
    assert len(conf_mounts) == 1
    host, container_path = conf_mounts[0][:2]
    assert (DEPLOY / host).resolve() == DEPLOY / "redis" / "redis.conf"
    assert command[:2] == ["redis-server", container_path]
    assert any(v.split(":")[1] == "/data" for v in redis["volumes"]), "Redis data must live in a volume"
    assert "healthcheck" in redis

    # The receiver is built from deploy/Dockerfile with the repository root as context.
    context = (DEPLOY / app["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / app["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert app["command"][0] == "serve"
    assert option(app["command"], "--config") == CONFIG_PATH
    config_mount = next(v for v in app["volumes"] if v.split(":")[1] == CONFIG_PATH)
    assert (DEPLOY / config_mount.split(":")[0]).resolve() == DEPLOY / "videohooks.compose.toml"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert any("/readyz" in part for part in app["healthcheck"]["test"])
    assert app.get("read_only") is True


def test_compose_config_secrets_come_from_the_environment() -> None:
    config = tomllib.loads((DEPLOY / "videohooks.compose.toml").read_text())
    providers = {source["provider"]: source for source in config["sources"]}
    assert providers["memories"]["verify"] == "url-token"
    assert "openai" in providers
    refs = env_refs(config)
    assert {"REDIS_URL"} <= refs
    for source in config["sources"]:
        assert all(secret.startswith("env:") for secret in source.get("secrets", [])), source["id"]
    environment = compose_environment("videohooks")
    assert refs <= set(environment), f"not set in compose: {sorted(refs - set(environment))}"
    assert "@redis:6379" in environment["REDIS_URL"]


# --------------------------------------------------------------------------------------------------
# redis.conf


def redis_directives() -> dict[str, list[list[str]]]:
    directives: dict[str, list[list[str]]] = {}
    for line in (DEPLOY / "redis" / "redis.conf").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, *args = shlex.split(line)
        directives.setdefault(name.lower(), []).append(args)
    return directives


def redis_bytes(value: str) -> int:
    """Redis' memory units: 1k = 1000, 1kb = 1024, and so on, case-insensitive."""
    match = re.fullmatch(r"(\d+)(k|kb|m|mb|g|gb)?", value.lower())
    assert match, f"unsupported Redis memory value {value!r}"
    unit = match[2] or ""
    factor = {"": 1, "k": 10**3, "kb": 2**10, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}[unit]
    return int(match[1]) * factor


def test_redis_conf_is_durable_and_never_evicts() -> None:
    conf = redis_directives()
    single = {name: values[-1] for name, values in conf.items()}
    assert single["appendonly"] == ["yes"]
    assert single["appendfsync"][0] in ("everysec", "always")
    assert single["maxmemory-policy"] == ["noeviction"]
    assert redis_bytes(single["maxmemory"][0]) >= 64 * 2**20, "set maxmemory below the host's memory"
    assert conf["save"] and all(args and args != [""] for args in conf["save"]), "RDB snapshots are off"
    assert single["protected-mode"] == ["yes"]
    assert "requirepass" not in conf, "the password belongs on the command line or in an ACL file, not here"
    text = (DEPLOY / "redis" / "redis.conf").read_text()
    assert re.search(r"#.*appendfsync always", text), "explain the stricter fsync option"


# --------------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = pending + stripped
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def final_stage() -> tuple[list[tuple[str, str]], dict[str, str]]:
    instructions = dockerfile_instructions()
    args = {}
    for keyword, rest in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args[name] = value
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert len(starts) >= 2, "the Dockerfile should be multi-stage"
    return instructions[starts[-1] :], args


def test_dockerfile_runtime_stage() -> None:
    stage, args = final_stage()
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], stage[0][1].split()[0])
    assert base.startswith("python:3.11-slim"), base
    users = [rest for keyword, rest in stage if keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any(k == "COPY" and "--from=builder" in rest for k, rest in stage), (
        "copy the build from the builder"
    )
    assert any(k == "EXPOSE" and "8080" in rest.split() for k, rest in stage)
    env = " ".join(rest for keyword, rest in stage if keyword == "ENV")
    assert f"VIDEOHOOKS_CONFIG={CONFIG_PATH}" in env

    exec_form = {}
    for keyword in ("ENTRYPOINT", "CMD"):
        values = [rest for k, rest in stage if k == keyword]
        assert values, f"no {keyword}"
        parsed = json.loads(values[-1])  # exec form is a JSON array; shell form would not parse
        assert isinstance(parsed, list) and all(isinstance(part, str) for part in parsed)
        exec_form[keyword] = parsed
    assert exec_form["ENTRYPOINT"][-1] == "videohooks"
    assert exec_form["CMD"][0] == "serve"
    assert option(exec_form["CMD"], "--port") == "8080"


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether a context path is excluded, by Docker's rule: the last matching pattern decides."""
    ignored = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        regex = fnmatch.translate(pattern.replace("**/", "\0")).replace("\0", "(?:.*/)?")
        if any(re.match(regex, candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_sends_what_the_build_copies_and_nothing_secret() -> None:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and "--from=" not in rest:
            copied += [part for part in rest.split()[:-1] if not part.startswith("--")]
    assert {"pyproject.toml", "receiver/", "schemas/"} <= set(copied)
    for source in copied:
        sent = f"{source}module.py" if source.endswith("/") else source
        assert not dockerignored(sent, patterns), f"{sent} is COPYed but ignored"
    for secret in (
        ".venv/bin/python",
        "deploy/.env",
        ".env",
        "var/dump.rdb",
        ".git/config",
        "tests/test_x.py",
    ):
        assert dockerignored(secret, patterns), f"{secret} would be sent to the builder"
    assert dockerignored("receiver/__pycache__/x.pyc", patterns)


def test_the_locked_dependency_sync_finds_what_it_reads_in_the_build_context(tmp_path: Path) -> None:
    """The builder's first `uv sync --locked`, on exactly the files COPYed before it: the lock names the
    consumers' package as a path source, whose metadata the check reads."""
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    context = tmp_path / "src"
    for keyword, rest in dockerfile_instructions():
        if keyword == "RUN" and "uv sync" in rest:
            break
        if keyword == "COPY" and "--from=" not in rest:
            *sources, target = rest.split()
            destination = context / target
            for source in sources:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, destination)
    synced = subprocess.run(
        [uv, "sync", "--locked", "--no-dev", "--no-install-project", "--dry-run"],
        cwd=context,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 0, synced.stderr


# --------------------------------------------------------------------------------------------------
# Grafana


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DEPLOY / "grafana" / "videohooks-dashboard.json").read_text())
    return loaded


def test_dashboard_structure() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 36
    assert board["title"] and board["uid"]
    variables = {v["name"] for v in board["templating"]["list"]}
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    data_panels = [p for p in panels if p["type"] != "row"]
    assert len(data_panels) >= 8
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
    for panel in data_panels:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"panel {panel['title']!r} has an empty query"
        uid = panel["datasource"]["uid"]
        if uid.startswith("$"):
            assert uid.strip("${}") in variables, f"{panel['title']}: undefined variable {uid}"


def test_dashboard_queries_use_only_known_metrics() -> None:
    used: set[str] = set()
    board = dashboard()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            used |= check_promql(grafana_to_promql(target["expr"]), f"panel {panel['title']!r}")
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        unknown = set(METRIC_TOKEN.findall(text)) - SERIES
        assert not unknown, f"variable {variable['name']}: unknown metric(s) {sorted(unknown)}"
    shown = {base_metric(series) for series in used}
    required = {
        "videohooks_deliveries_total",
        "videohooks_request_duration_seconds",
        "videohooks_publish_duration_seconds",
        "videohooks_publish_batch_size",
        "videohooks_quarantined_total",
        "videohooks_stream_length",
        "videohooks_consumer_group_lag",
        "videohooks_consumer_group_pending",
        "videohooks_tokens_total",
        "videohooks_redis_up",
    }
    assert required <= shown, f"not on the dashboard: {sorted(required - shown)}"


def test_promql_check_catches_mistakes() -> None:
    with pytest.raises(AssertionError, match="unknown metric"):
        check_promql("rate(videohooks_deliveries_totl[5m])", "typo")
    with pytest.raises(AssertionError, match="never occur"):
        check_promql('rate(videohooks_deliveries_total{outcome="acepted"}[5m])', "label")
    with pytest.raises(pytest.fail.Exception):
        check_promql("sum(rate(videohooks_deliveries_total[5m])", "syntax")


# --------------------------------------------------------------------------------------------------
# Prometheus alerts


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert set(document) == {"groups"}
    rules = []
    group_names = set()
    for group in document["groups"]:
        assert group["name"] not in group_names
        group_names.add(group["name"])
        assert group["rules"], f"group {group['name']} is empty"
        rules += group["rules"]
    return rules


def test_alert_rules_are_well_formed() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, rule[
            "alert"
        ]
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
        assert re.fullmatch(r"(\d+[smhd])+", rule["for"]), f"{rule['alert']}: bad `for`"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        for key in ("summary", "description", "runbook"):
            assert str(rule["annotations"].get(key, "")).strip(), f"{rule['alert']}: no {key}"


def test_alert_expressions_parse_and_cover_the_failure_modes() -> None:
    used_by: dict[str, set[str]] = {}
    outcomes: set[str] = set()
    for rule in alert_rules():
        series = check_promql(rule["expr"], f"alert {rule['alert']}")
        used_by[rule["alert"]] = {base_metric(s) for s in series}
        outcomes |= set(re.findall(r'outcome="(\w+)"', rule["expr"]))
    covered = set().union(*used_by.values())
    required = {
        "videohooks_redis_up",
        "videohooks_deliveries_total",
        "videohooks_quarantined_total",
        "videohooks_consumer_group_lag",
        "videohooks_request_duration_seconds",
        "videohooks_fetch_failures_total",
        "videohooks_poll_failures_total",
    }
    # quarantines may be watched through deliveries{outcome="quarantined"} instead of the counter
    if "quarantined" in outcomes:
        required.discard("videohooks_quarantined_total")
    assert required <= covered, f"no alert on {sorted(required - covered)}"
    assert {"unavailable", "unauthentic"} <= outcomes

"""The rendered program as a local Ray cluster: its pods in the harness, its Service name, its token.

Everything here comes from one render of the Pulumi program (`tests.support.render.run_program`): the
Deployments' pod templates, the head Service, the auth Secret and the stack outputs (`client_address`,
`dashboard_url`, `auth_token`). Nothing about the pods is written by hand.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.ray import kube
from tests.ray.harness import NODE_IP, Client, Harness, PodRuntime, log
from tests.support.render import Run, find_all, run_program

T = TypeVar("T")
TIMINGS: dict[str, float] = {}
"""Measured durations (seconds) by name; printed at the end of the session."""
NOTES: list[str] = []
"""Observations worth reading after the run (printed at the end of the session)."""


@dataclass(frozen=True)
class Workload:
    """One Deployment of the render."""

    name: str
    group: str
    replicas: int
    template: dict[str, Any]


@dataclass(frozen=True)
class RenderedCluster:
    namespace: str
    service: dict[str, Any]
    head: Workload
    workers: tuple[Workload, ...]
    objects: kube.Objects
    outputs: dict[str, Any]
    """Stack outputs."""

    @property
    def fqdn(self) -> str:
        return f"{self.service['metadata']['name']}.{self.namespace}.svc.cluster.local"

    @property
    def token(self) -> str | None:
        return self.outputs.get("auth_token")

    @property
    def service_ports(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.service["spec"]["ports"]}


def _labels(template: Mapping[str, Any]) -> dict[str, str]:
    return dict((template.get("metadata") or {}).get("labels") or {})


def from_run(run: Run) -> RenderedCluster:
    """Pick the head Service, the Deployments and the Secrets out of a render."""
    services = [kube.plain(r.inputs) for r in find_all(run.resources, "core/v1:Service")]
    deployments = [kube.plain(r.inputs) for r in find_all(run.resources, "apps/v1:Deployment")]
    if len(services) != 1:
        raise AssertionError(f"expected one Service, rendered {len(services)}")
    service = services[0]
    namespace = service["metadata"]["namespace"]
    selector = service["spec"]["selector"]
    head, workers = [], []
    for d in deployments:
        template = d["spec"]["template"]
        labels = _labels(template)
        workload = Workload(
            d["metadata"]["name"], labels.get("ray.io/group", ""), d["spec"]["replicas"], template
        )
        if all(labels.get(k) == v for k, v in selector.items()):
            head.append(workload)
        elif labels.get("ray.io/node-type") == "worker":
            workers.append(workload)
    if len(head) != 1:
        raise AssertionError(f"the Service selector {selector} matches {len(head)} Deployments, not one")
    secrets_ = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): kube.Objects.secret_data(r.inputs)
        for r in find_all(run.resources, "core/v1:Secret")
    }
    config_maps = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): dict(r.inputs.get("data") or {})
        for r in find_all(run.resources, "core/v1:ConfigMap")
    }
    return RenderedCluster(
        namespace=namespace,
        service=service,
        head=head[0],
        workers=tuple(workers),
        objects=kube.Objects(secrets_, config_maps),
        outputs=dict(run.stack_outputs),
    )


def render(config: Mapping[str, str]) -> RenderedCluster:
    """Render `__main__.py` with this stack config (keys without the `ray-static:` prefix)."""
    return from_run(run_program({f"ray-static:{k}": v for k, v in config.items()}))


_PROXIER_START_FAILURE = ("Starting Ray client server failed", "psutil.ZombieProcess")
_POD_ALPHABET = "bcdfghjkmnpqrstvwxz2456789"


def pod_name(deployment: str, template: Mapping[str, Any]) -> str:
    """A Deployment pod's name: `<deployment>-<template hash>-<random>`, as the ReplicaSet makes it."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    pod_hash = "".join(_POD_ALPHABET[b % len(_POD_ALPHABET)] for b in digest[:10])
    suffix = "".join(secrets.choice(_POD_ALPHABET) for _ in range(5))
    return f"{deployment}-{pod_hash}-{suffix}"


def wait_for(what: str, check: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
    """Poll `check` until it returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class LocalCluster:
    """The rendered head and workers as pods in the harness, plus a client pod in another namespace."""

    def __init__(self, harness: Harness, rendered: RenderedCluster) -> None:
        self.harness = harness
        self.rendered = rendered
        head_ip = harness.network.allocate_ip()
        # Cluster DNS, as far as these pods use it: the Service's FQDN answers with the head pod.
        harness.dns[rendered.fqdn] = head_ip
        self.client: Client = harness.add_client("client", "ray-clients")
        self.head = self._pod("head", rendered.head, head_ip)
        self.workers: list[PodRuntime] = []
        for w in rendered.workers:
            for i in range(w.replicas):
                self.workers.append(self._pod(f"{w.group}-{i}", w, harness.network.allocate_ip()))

    def _pod(self, short: str, workload: Workload, ip: str) -> PodRuntime:
        ctx = kube.PodContext(
            name=pod_name(workload.name, workload.template),
            namespace=self.rendered.namespace,
            ip=ip,
            host_ip=NODE_IP,
            service_account=workload.template["spec"].get("serviceAccountName", "default"),
        )
        return self.harness.add_pod(short, workload.template, ctx, self.rendered.objects)

    @property
    def pods(self) -> list[PodRuntime]:
        return [self.head, *self.workers]

    def group_of(self, pod: PodRuntime) -> Workload:
        for w in (self.rendered.head, *self.rendered.workers):
            if pod.name.startswith(f"{w.name}-") and pod.name.count("-") == w.name.count("-") + 2:
                return w
        raise KeyError(pod.name)

    # -- talking to the cluster the way users do: through the rendered outputs, from the client pod

    def auth_headers(self, token: str | None = "rendered") -> dict[str, str]:
        token = self.rendered.token if token == "rendered" else token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def client_env(self, token: str | None = "rendered") -> dict[str, str]:
        """What a user sets to reach the cluster, when auth is on: RAY_AUTH_MODE=token and the token as a
        file (RAY_AUTH_TOKEN_PATH), as the Ray pods themselves read it."""
        token = self.rendered.token if token == "rendered" else token
        if not token:
            return {}
        path = self.client.home / f"ray-token-{hashlib.sha256(token.encode()).hexdigest()[:8]}"
        path.write_text(token)
        path.chmod(0o600)
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)}

    def ray_client(
        self, body: str, token: str | None = "rendered", timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run `body` in a Python client on the client pod after `ray.init(<rendered client_address>)`."""
        script = "import json, socket, sys\nimport ray\nray.init(sys.argv[1], logging_level='ERROR')\n"
        argv = ["python", "-c", script + textwrap.dedent(body), self.rendered.outputs["client_address"]]
        result = self.client.run(argv, env=self.client_env(token), timeout=timeout)
        if any(sign in result.stderr for sign in _PROXIER_START_FAILURE):
            # Seen intermittently (about one suite run in four) on this loaded 2-core machine, only on a
            # cluster's first client connection: the head's client proxier spawns its per-client server,
            # which exits at once with empty logs. Not reproduced in isolation; retried once and reported.
            note("ray client: the proxier's per-client server died at start (empty logs); retried once")
            result = self.client.run(argv, env=self.client_env(token), timeout=timeout)
        return result

    def nodes(self) -> list[dict[str, Any]]:
        """Ray's node table through the dashboard's state API (at the rendered `dashboard_url`)."""
        url = f"{self.rendered.outputs['dashboard_url']}/api/v0/nodes?limit=1000&detail=true"
        code, body = self.client.http(url, self.auth_headers(), timeout=15)
        if code != 200:
            return []
        try:
            return json.loads(body)["data"]["result"]["result"]
        except (ValueError, KeyError):
            return []

    def alive_nodes(self) -> list[dict[str, Any]]:
        return [n for n in self.nodes() if n.get("state") == "ALIVE"]

    def complete(self, exclude: Mapping[str, str] | None = None) -> list[dict[str, Any]] | None:
        """The ALIVE nodes if they are exactly this cluster's pods (by IP), none of them with a node ID
        from `exclude` (IP -> node ID of an earlier cluster); else None."""
        alive = self.alive_nodes()
        if {n["node_ip"] for n in alive} != {p.ip for p in self.pods}:
            return None
        if exclude and any(exclude.get(n["node_ip"]) == n["node_id"] for n in alive):
            return None
        return alive

    def wait_alive(
        self, timeout: float, exclude: Mapping[str, str] | None = None, what: str = ""
    ) -> list[dict[str, Any]]:
        """Wait until the head and every worker pod are ALIVE Ray nodes (see `complete`)."""
        try:
            return wait_for(what or "head and workers ALIVE", lambda: self.complete(exclude), timeout, 2.0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.describe()}") from None

    def wait_ready(self, pod: PodRuntime, timeout: float) -> float:
        """Poll the rendered readiness probe until it passes; seconds it took."""
        t0 = time.monotonic()
        wait_for(f"{pod.name} ready", lambda: pod.container().running and pod.probe("readiness")[0], timeout)
        return time.monotonic() - t0

    def describe(self) -> str:
        return "\n".join(p.describe() for p in self.pods)


def note(text: str) -> None:
    NOTES.append(text)
    log(text)


def timed(name: str, seconds: float) -> None:
    TIMINGS[name] = seconds
    log(f"{name}: {seconds:.1f}s")

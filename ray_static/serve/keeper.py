"""The keeper: a RayServe's one long-running pod, which keeps the serve Service's endpoints right and
deletes the applications when the RayServe is removed.

Standard library only: its Deployment runs this file's source (with rest.py's) by the image's `python -c`.

Endpoints. Every INTERVAL_SECONDS it lists the cluster's pods, asks each one's Serve proxy for
`/-/healthz` on the serve port, and sets the pod's label (PROXY_LABEL) to "true" or "false"; the serve
Service selects the label. A proxy answers 200 only once it has routes and (on a worker) replicas, and 503
while it drains, so the endpoints are the pods that can serve, with no probe in the Ray containers'
readiness (which would keep workers without replicas, and the cluster's own `pulumi up`, unready). A pod
loses the label after FAILURES_TO_DROP failed probes in a row, not one timeout.

Removal. On SIGTERM it reads its own Deployment: being deleted (Pulumi deletes it with foreground
propagation, so it stays until this pod is gone) means the RayServe is removed, and it PUTs a config with
no applications, then waits until Serve has deleted them; any other SIGTERM (a rollout, an eviction, a
drained node) ends it at once.

Environment (ray-static's constants come in from there): NAMESPACE, POD_SELECTOR (the cluster's pods),
PROXY_LABEL, HEALTH_URL (with `{ip}` for the pod's address), KEEPER_DEPLOYMENT, RAY_API_SERVER_ADDRESS,
RAY_AUTH_TOKEN_PATH; the Kubernetes API through the pod's ServiceAccount token.
"""

import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ray_static.serve.rest import PATH, Http, http, say

INTERVAL_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 1.0
FAILURES_TO_DROP = 2
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
TEARDOWN_SECONDS = 100.0
"""Within the keeper's grace period (constants.KEEPER_GRACE_PERIOD_SECONDS)."""
PROBE_THREADS = 8


@dataclass(frozen=True)
class Place:
    """Where the keeper works, from its environment."""

    namespace: str
    pod_selector: str
    label: str
    health_url: str
    deployment: str

    @classmethod
    def from_env(cls) -> "Place":
        env = os.environ
        return cls(
            env["NAMESPACE"],
            env["POD_SELECTOR"],
            env["PROXY_LABEL"],
            env["HEALTH_URL"],
            env["KEEPER_DEPLOYMENT"],
        )


def kube(method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
    """One Kubernetes API call with the pod's ServiceAccount; the decoded JSON answer."""
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
    with open(f"{SERVICE_ACCOUNT}/token") as token_file:  # re-read: the projected token rotates
        token = token_file.read().strip()
    request = urllib.request.Request(
        f"https://{host}:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        method=method,
    )
    context = ssl.create_default_context(cafile=f"{SERVICE_ACCOUNT}/ca.crt")
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        return json.loads(response.read())


def healthy(url: str) -> bool:
    """Whether the proxy at this URL answers its health check with 200."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def wanted_labels(
    pods: list[dict[str, Any]], probes: dict[str, bool], failures: dict[str, int], label: str
) -> dict[str, str]:
    """Pod name -> the value ``label`` should have, where that differs from the pod's. ``failures`` counts
    each pod's failed probes in a row (updated here, pods gone forgotten)."""
    changes: dict[str, str] = {}
    for pod in pods:
        name = pod["metadata"]["name"]
        current = (pod["metadata"].get("labels") or {}).get(label)
        ok = probes.get(name, False)
        failures[name] = 0 if ok else failures.get(name, 0) + 1
        want = "true" if ok or (current == "true" and failures[name] < FAILURES_TO_DROP) else "false"
        if want != current:
            changes[name] = want
    for gone in set(failures) - {pod["metadata"]["name"] for pod in pods}:
        del failures[gone]
    return changes


def serving_candidates(listed: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods worth probing: with an address, not being deleted."""
    return [
        pod
        for pod in listed.get("items") or []
        if (pod.get("status") or {}).get("podIP") and not pod["metadata"].get("deletionTimestamp")
    ]


def sweep(place: Place, failures: dict[str, int], pool: ThreadPoolExecutor) -> None:
    """Probe every running pod of the cluster and patch the labels that changed."""
    pods_path = f"/api/v1/namespaces/{place.namespace}/pods"
    pods = serving_candidates(
        kube("GET", f"{pods_path}?labelSelector={urllib.parse.quote(place.pod_selector)}")
    )
    results = pool.map(lambda pod: healthy(place.health_url.format(ip=pod["status"]["podIP"])), pods)
    probes = {pod["metadata"]["name"]: ok for pod, ok in zip(pods, results, strict=True)}
    for name, value in wanted_labels(pods, probes, failures, place.label).items():
        patch = {"metadata": {"labels": {place.label: value}}}
        kube("PATCH", f"{pods_path}/{name}", patch, "application/merge-patch+json")
        say(f"pod {name}: {place.label}={value}")


def removed(place: Place) -> bool:
    """Whether the keeper's Deployment is being deleted (or gone): the RayServe was removed."""
    try:
        found = kube("GET", f"/apis/apps/v1/namespaces/{place.namespace}/deployments/{place.deployment}")
    except urllib.error.HTTPError as error:
        return error.code == 404
    return bool(found["metadata"].get("deletionTimestamp"))


def teardown(call: Http = http, interval: float = INTERVAL_SECONDS) -> bool:
    """PUT a config with no applications and wait until Serve reports none; whether it did."""
    status, text = call("PUT", PATH, {"applications": []})
    if status != 200:
        say(f"could not delete the applications: HTTP {status}: {text.strip()[:500]}")
        return False
    deadline = time.monotonic() + TEARDOWN_SECONDS
    while time.monotonic() < deadline:
        status, text = call("GET", f"{PATH}?api_type=declarative", None)
        if status == 200 and not json.loads(text).get("applications"):
            say("the applications are deleted")
            return True
        time.sleep(interval)
    say("the applications were not all deleted in time")
    return False


def main() -> int:
    place = Place.from_env()
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    failures: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
        while not stopping:
            try:
                sweep(place, failures, pool)
            except (OSError, ValueError, KeyError) as error:
                say(f"sweep failed, retrying: {error}")
            time.sleep(INTERVAL_SECONDS)
    try:
        gone = removed(place)
    except (OSError, ValueError, KeyError) as error:
        say(f"could not tell a removal from a restart, keeping the applications: {error}")
        return 0
    if gone:
        say("the RayServe is removed: deleting its applications")
        teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

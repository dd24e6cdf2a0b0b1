"""The NetworkPolicy enforced on the real node, against real traffic from pods.

The engine is kube-router in firewall mode (`scripts/node.sh policy up`), started on this module's node
and stopped at its end; the other modules' nodes run without one. One stack is deployed with every way in
the policy knows (client namespaces, client pod labels, a client range, Prometheus, an Ingress
controller, RayJob submitters) and with egress on. Every pod that probes runs a TCP listener of its own
on PROBE_PORT, so it is also the target of the egress checks.

A probe is a TCP connect from inside a pod: "open" (the handshake completed), or "refused" / "timeout"
(kube-router REJECTs what the policy does not allow, which looks like a closed port). So every port
probed is first shown listening on the pod's address from inside the pod itself (that traffic stays in
the pod and no policy sees it): a "refused" then means the policy, not an idle port. Ports that Ray does
not listen on (Serve's, one of the worker range) get stand-in listeners in the head.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ray_static import constants as c
from tests.node.support import (
    NODE_SH,
    Deployment,
    NodeSession,
    RayView,
    cache_root,
    deployed_stack,
    log,
    parse_result,
    ray_image_pod,
    timed,
)
from tests.support.waiting import wait_for

NAMESPACE = "ray-policy"
CLIENTS = "policy-clients"
MONITORING = "policy-monitoring"
INGRESS = "policy-ingress"
OTHER = "policy-other"
HEAD = "ray.io/cluster=ray,ray.io/node-type=head"
WORKERS = "ray.io/cluster=ray,ray.io/node-type=worker"
NODE_DNS = "10.244.0.1/32"
"""scripts/node.sh's CoreDNS answers on the node's bridge address, not in a kube-dns pod."""
PROBE_PORT = 8081
WORKER_PORT = c.MAX_WORKER_PORT
"""One port of the worker range: Ray hands them out from the bottom, so the top one is free for a stand-in."""
RAY_PORTS = {
    "gcs": c.GCS_PORT,
    "client": c.CLIENT_PORT,
    "dashboard": c.DASHBOARD_PORT,
    "metrics": c.METRICS_PORT,
    "dashboard-metrics": c.DASHBOARD_METRICS_PORT,
    "object-manager": c.OBJECT_MANAGER_PORT,
    "node-manager": c.NODE_MANAGER_PORT,
    "agent-grpc": c.DASHBOARD_AGENT_GRPC_PORT,
    "runtime-env-agent": c.RUNTIME_ENV_AGENT_PORT,
    "agent-http": c.DASHBOARD_AGENT_LISTEN_PORT,
    "serve": c.DEFAULT_SERVE_PORT,
    "worker": WORKER_PORT,
}
CLIENT_PORTS = {"gcs", "client", "dashboard", "serve"}
METRICS_PORTS = {"metrics", "dashboard-metrics"}
JOB_TIMEOUT = 300.0
REJOIN_TIMEOUT = 420.0

LISTEN = """
import socket, sys, threading
def serve(sock):
    while True:
        conn, _ = sock.accept()
        conn.close()
for port in map(int, sys.argv[2:]):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((sys.argv[1], port))
    except OSError:
        continue  # Ray took it meanwhile: then Ray listens there
    sock.listen(64)
    threading.Thread(target=serve, args=(sock,), daemon=True).start()
threading.Event().wait()
"""
"""TCP listeners on the given address and ports (the helper pods' own, the head's stand-ins)."""
PROBE = """
import errno, json, socket, sys, threading
out = {}
def dial(target):
    host, port = target.rsplit(":", 1)
    s = socket.socket()
    s.settimeout(3)
    try:
        code = s.connect_ex((socket.gethostbyname(host), int(port)))
    except socket.timeout:
        code = errno.ETIMEDOUT
    except OSError as exc:
        out[target] = "dns: " + str(exc)
        return
    finally:
        s.close()
    out[target] = {0: "open", errno.ECONNREFUSED: "refused", errno.ETIMEDOUT: "timeout",
                   errno.EAGAIN: "timeout"}.get(code, errno.errorcode.get(code, str(code)))
threads = [threading.Thread(target=dial, args=(t,)) for t in sys.argv[1:]]
for t in threads: t.start()
for t in threads: t.join()
print("RESULT", json.dumps(out))
"""
"""TCP connects to host:port arguments, in parallel: target -> open / refused / timeout."""
TRANSFER = """
import json, ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On
ray.init()
workers = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0)
assert len(workers) >= 2, ray.nodes()
@ray.remote(num_cpus=1)
def make():
    return b"\\x01" * (110 * 2**20)
@ray.remote(num_cpus=1)
def consume(data):
    return len(data), data.count(b"\\x01"), ray.get_runtime_context().get_node_id()
ref = make.options(scheduling_strategy=On(workers[0], soft=False)).remote()
nbytes, ones, where = ray.get(consume.options(scheduling_strategy=On(workers[1], soft=False)).remote(ref))
print("TRANSFER", json.dumps({"bytes": nbytes, "ones": ones, "from": workers[0], "to": where}))
"""
"""A job: a 110 MiB object made on one worker and read on the other (object manager to object manager)."""


def _helper(name: str, namespace: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return ray_image_pod(
        name,
        namespace,
        {
            "name": "probe",
            "command": ["python", "-c", LISTEN, "0.0.0.0", str(PROBE_PORT)],
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
        },
        labels,
    )


OUTSIDE_PODS = [
    _helper("probe", CLIENTS),
    _helper("probe", MONITORING),
    _helper("probe", INGRESS),
    _helper("probe", OTHER),
    _helper("vpn-host", OTHER),
]
"""Made before the stack (vpn-host's address goes into allowedClientCidrs)."""
INSIDE_PODS = [
    _helper("labelled-client", NAMESPACE, {"app": "labelled-client", "ray-client": "true"}),
    _helper("submitter", NAMESPACE, {"app": "submitter", c.SUBMITTER_LABEL: "true"}),
    _helper("unlabelled", NAMESPACE),
]
"""Made in the stack's namespace once it exists; deleted with it."""


def config(vpn_host_ip: str) -> dict[str, str]:
    """The module's stack: 1-CPU head and two workers (200m requests) on the node's 2 CPUs."""
    return {
        "namespace": NAMESPACE,
        "headCpu": "1",
        "headMemory": "2Gi",
        "workers": "2",
        "workerCpu": "1",
        "workerCpuRequest": "200m",
        "workerMemory": "1Gi",
        "allowedClientNamespaces": json.dumps([CLIENTS]),
        "allowedClientPodLabels": json.dumps({"ray-client": "true"}),
        "allowedClientCidrs": json.dumps([f"{vpn_host_ip}/32"]),
        "metrics": json.dumps({"prometheusNamespaces": [MONITORING]}),
        "ingress": json.dumps({"host": "ray.policy.test", "controllerNamespaces": [INGRESS]}),
        "serve": "true",
        "egress": json.dumps({"dnsCidrs": [NODE_DNS], "allowedNamespaces": [CLIENTS]}),
    }


@dataclass
class Policed(Deployment):
    """The deployment, with the helper pods' addresses."""

    ips: dict[str, str]
    """namespace/name -> pod IP, for every helper pod."""

    def head_ip(self) -> str:
        return self.ray.head()["status"]["podIP"]


def _probe(deployment: Deployment, namespace: str, pod: str, targets: list[str]) -> dict[str, str]:
    result = deployment.node.exec(namespace, pod, ["python", "-c", PROBE, *targets], timeout=60)
    return parse_result(result)


def _node_sh_policy(action: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODE_SH), "policy", action],
        env=dict(env),
        stdout=subprocess.PIPE,
        text=True,
        timeout=900,
        check=False,
    )


def _engine_log(lines: int = 40) -> str:
    path = cache_root() / "node-logs" / "kube-router.log"
    tail = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["(no log)"]
    return f"--- {path}\n" + "\n".join(tail)


def _filter_rules() -> str:
    return subprocess.run(
        ["iptables-save", "-t", "filter"], capture_output=True, text=True, check=True
    ).stdout


def _enforced(ip: str) -> bool:
    """kube-router has a firewall chain for the pod at `ip` that runs through the cluster's policy."""
    rules = _filter_rules()
    chains = {
        line.rsplit("-j ", 1)[1].strip()
        for line in rules.splitlines()
        if line.startswith("-A KUBE-ROUTER-FORWARD") and f"-d {ip}/32" in line and "-j KUBE-POD-FW-" in line
    }
    return any(
        line.startswith(f"-A {chain} ") and "run through nw policy ray" in line
        for chain in chains
        for line in rules.splitlines()
    )


def _wait_enforced(deployment: Deployment) -> None:
    """Every Ray pod has its policy chain: probes before that would see the pod unprotected."""
    for pod in deployment.node.pods(NAMESPACE, "ray.io/cluster=ray"):
        ip = pod["status"]["podIP"]
        wait_for(lambda ip=ip: _enforced(ip), 60, f"kube-router's policy chain for {ip}", interval=0.5)


@pytest.fixture(scope="module")
def engine(real_node: NodeSession) -> Iterator[NodeSession]:
    """kube-router on this module's node; stopped (and its rules removed) at the end."""
    t0 = time.monotonic()
    up = _node_sh_policy("up", real_node.env)
    if up.returncode != 0:
        pytest.fail(f"scripts/node.sh policy up exited {up.returncode}\n{_engine_log()}")
    timed("policy: scripts/node.sh policy up (kube-router built)", time.monotonic() - t0)
    try:
        yield real_node
    finally:
        _node_sh_policy("down", real_node.env)


@pytest.fixture(scope="module")
def deployed(engine: NodeSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Policed]:
    node = engine.node
    t0 = time.monotonic()
    for namespace in (CLIENTS, MONITORING, INGRESS, OTHER):
        node.kubectl("create", "namespace", namespace)
    for pod in OUTSIDE_PODS:
        node.apply(pod)
    ips: dict[str, str] = {}
    for pod in OUTSIDE_PODS:
        meta = pod["metadata"]
        (ready,) = node.wait_ready(meta["namespace"], f"app={meta['labels']['app']}", 1, timeout=120)
        ips[f"{meta['namespace']}/{meta['name']}"] = ready["status"]["podIP"]
    timed("policy: helper pods Ready in 4 namespaces", time.monotonic() - t0)
    view = RayView(node, NAMESPACE, HEAD, WORKERS)
    leftovers = [("namespace", ns) for ns in (CLIENTS, MONITORING, INGRESS, OTHER)]
    with deployed_stack(
        engine,
        tmp_path_factory,
        "policy",
        config(ips[f"{OTHER}/vpn-host"]),
        view,
        stack_name="policy",
        workers=2,
        leftovers=leftovers,
    ) as stack:
        deployment = Policed(engine, stack, view, ips)
        for pod in INSIDE_PODS:
            node.apply(pod)
        for pod in INSIDE_PODS:
            meta = pod["metadata"]
            (ready,) = node.wait_ready(NAMESPACE, f"app={meta['labels']['app']}", 1, timeout=120)
            ips[f"{NAMESPACE}/{meta['name']}"] = ready["status"]["podIP"]
        _wait_enforced(deployment)
        yield deployment


def _head_targets(deployment: Policed) -> dict[str, str]:
    """name -> head-IP:port for every Ray port, each shown listening on the head's address first."""
    node, ip = deployment.node, deployment.head_ip()
    head = deployment.ray.head()["metadata"]["name"]
    targets = {name: f"{ip}:{port}" for name, port in RAY_PORTS.items()}
    # Stand-ins where Ray itself does not listen on the pod's address (the bound ones are skipped).
    ports = " ".join(map(str, RAY_PORTS.values()))
    node.exec(
        NAMESPACE,
        head,
        ["sh", "-c", f"nohup timeout 900 python -c '{LISTEN}' {ip} {ports} >/dev/null 2>&1 &"],
    )

    def listening() -> dict[str, str] | None:
        seen = _probe(deployment, NAMESPACE, head, list(targets.values()))
        return seen if all(state == "open" for state in seen.values()) else None

    wait_for(listening, 30, f"every Ray port listening on the head's address {ip}", interval=1)
    return targets


def _reachable(deployment: Policed, source: str, targets: Mapping[str, str]) -> set[str]:
    namespace, pod = source.split("/")
    seen = _probe(deployment, namespace, pod, list(targets.values()))
    odd = {t: s for t, s in seen.items() if s not in ("open", "refused", "timeout")}
    assert not odd, odd
    return {name for name, target in targets.items() if seen[target] == "open"}


def test_1_the_engine_enforces_and_ray_comes_up_under_the_policy(deployed: Policed) -> None:
    spec = deployed.node.get("networkpolicy", "ray", "-n", NAMESPACE)["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    for pod in deployed.node.pods(NAMESPACE, "ray.io/cluster=ray"):
        assert _enforced(pod["status"]["podIP"]), _engine_log()
    # The mangle guard keeps pod traffic on the pod subnet even where kube-router's ACCEPT comes first.
    mangle = subprocess.run(
        ["iptables", "-w", "-t", "mangle", "-S", "FORWARD"], capture_output=True, text=True, check=True
    )
    assert "-A FORWARD -j RAY-STATIC-NODE-POLICY-GUARD" in mangle.stdout.splitlines()[1:2], mangle.stdout


def test_2_an_unrelated_namespace_is_refused_on_every_ray_port(deployed: Policed) -> None:
    targets = _head_targets(deployed)
    worker_ip = deployed.node.ready_pods(NAMESPACE, WORKERS)[0]["status"]["podIP"]
    worker = {
        f"worker-{n}": f"{worker_ip}:{RAY_PORTS[n]}" for n in ("metrics", "object-manager", "node-manager")
    }
    t0 = time.monotonic()
    assert _reachable(deployed, f"{OTHER}/probe", targets | worker) == set()
    # Nor through the head Service's name and ClusterIP (kube-proxy's DNAT, then the policy).
    service = {
        n: f"ray-head.{NAMESPACE}.svc.cluster.local:{RAY_PORTS[n]}" for n in ("gcs", "client", "dashboard")
    }
    assert _reachable(deployed, f"{OTHER}/probe", service) == set()
    # A pod of the cluster's own namespace without the client labels is just as unrelated.
    assert _reachable(deployed, f"{NAMESPACE}/unlabelled", targets) == set()
    timed("policy: unrelated pods probed on 12 + 3 + 3 ports", time.monotonic() - t0)


def test_3_allowed_clients_reach_the_client_ports_and_nothing_else(deployed: Policed) -> None:
    targets = _head_targets(deployed)
    for source in (f"{CLIENTS}/probe", f"{NAMESPACE}/labelled-client", f"{OTHER}/vpn-host"):
        assert _reachable(deployed, source, targets) == CLIENT_PORTS, source
    # The client range is that one address: its neighbour in the same namespace stays out (test 2).
    fqdn = f"ray-head.{NAMESPACE}.svc.cluster.local"
    service = {n: f"{fqdn}:{RAY_PORTS[n]}" for n in ("gcs", "client", "dashboard", "metrics")}
    assert _reachable(deployed, f"{CLIENTS}/probe", service) == {"gcs", "client", "dashboard"}


def test_4_prometheus_reaches_metrics_ingress_and_submitters_the_dashboard_only(deployed: Policed) -> None:
    targets = _head_targets(deployed)
    assert _reachable(deployed, f"{MONITORING}/probe", targets) == METRICS_PORTS
    worker_ip = deployed.node.ready_pods(NAMESPACE, WORKERS)[0]["status"]["podIP"]
    scrape = {
        "worker-metrics": f"{worker_ip}:{c.METRICS_PORT}",
        "worker-node-manager": f"{worker_ip}:{c.NODE_MANAGER_PORT}",
    }
    assert _reachable(deployed, f"{MONITORING}/probe", scrape) == {"worker-metrics"}
    assert _reachable(deployed, f"{INGRESS}/probe", targets) == {"dashboard"}
    assert _reachable(deployed, f"{NAMESPACE}/submitter", targets) == {"dashboard"}
    # The submitter's way in is the Jobs API itself: it answers, with the token.
    token = deployed.stack.outputs()["auth_token"]
    code = (
        "import sys, urllib.request\n"
        "auth = {'Authorization': 'Bearer ' + sys.argv[2]}\n"
        "req = urllib.request.Request(sys.argv[1] + '/api/jobs/', headers=auth)\n"
        "print('RESULT', urllib.request.urlopen(req, timeout=10).status)\n"
    )
    got = deployed.node.exec(
        NAMESPACE,
        "submitter",
        ["python", "-c", code, f"http://ray-head.{NAMESPACE}.svc.cluster.local:8265", token],
    )
    assert parse_result(got) == 200


def test_5_a_job_moves_a_110_mib_object_between_two_workers(deployed: Policed) -> None:
    """Submitted through the Jobs API from the allowed client namespace; the object goes from one worker's
    object manager to the other's, which the policy admits only between the cluster's own pods."""
    token = deployed.stack.outputs()["auth_token"]
    t0 = time.monotonic()
    submit = [
        "env", f"RAY_AUTH_TOKEN={token}", "RAY_AUTH_MODE=token",
        "ray", "job", "submit", "--address", f"http://ray-head.{NAMESPACE}.svc.cluster.local:8265",
        "--", "python", "-c", TRANSFER,
    ]  # fmt: skip
    job = deployed.node.exec(CLIENTS, "probe", submit, timeout=JOB_TIMEOUT)
    output = job.stdout + job.stderr
    assert job.returncode == 0 and "TRANSFER" in output, output[-4000:]
    # The job's own line (the echoed entrypoint above it names TRANSFER too).
    (line,) = [x for x in output.splitlines() if x.startswith("TRANSFER {")]
    moved = json.loads(line.removeprefix("TRANSFER "))
    timed("policy: job with a 110 MiB object worker -> worker (submit -> succeeded)", time.monotonic() - t0)
    assert moved["bytes"] == moved["ones"] == 110 * 2**20
    assert moved["to"] != moved["from"]


def test_6_egress_allows_dns_own_pods_and_the_listed_namespace_only(deployed: Policed) -> None:
    head = deployed.ray.head()["metadata"]["name"]
    ips = deployed.ips
    worker_ip = deployed.node.ready_pods(NAMESPACE, WORKERS)[0]["status"]["podIP"]
    targets = {
        "service by name (DNS, then the head)": f"ray-head.{NAMESPACE}.svc.cluster.local:{c.GCS_PORT}",
        "a worker": f"{worker_ip}:{c.NODE_MANAGER_PORT}",
        "listed namespace": f"{ips[f'{CLIENTS}/probe']}:{PROBE_PORT}",
        "unlisted namespace": f"{ips[f'{OTHER}/probe']}:{PROBE_PORT}",
        "unlisted, same namespace": f"{ips[f'{NAMESPACE}/unlabelled']}:{PROBE_PORT}",
    }
    reached = _reachable(deployed, f"{NAMESPACE}/{head}", targets)
    assert reached == {"service by name (DNS, then the head)", "a worker", "listed namespace"}
    # The unlisted pod does listen: from its own namespace's other pod (no egress limits there) it answers.
    assert _reachable(deployed, f"{OTHER}/vpn-host", {"it": targets["unlisted namespace"]}) == {"it"}


def test_7_a_head_restart_is_recovered_under_the_policy(deployed: Policed) -> None:
    ray = deployed.ray
    old = {n["node_ip"]: n["node_id"] for n in ray.wait_complete(2, 120)}
    t0 = time.monotonic()
    deployed.node.kubectl("delete", "pod", "-n", NAMESPACE, "-l", HEAD, "--wait=false")
    ray.wait_complete(2, REJOIN_TIMEOUT, exclude=old)
    timed("policy: delete head pod -> new head + 2 workers ALIVE", time.monotonic() - t0)
    _wait_enforced(deployed)


def test_8_with_the_policy_off_the_unrelated_pod_gets_through(deployed: Policed) -> None:
    """The same probes the policy refused now connect: the checks above can fail."""
    deployed.stack.remove_config("egress")
    deployed.stack.set_config({"networkPolicy": "false"})
    t0 = time.monotonic()
    deployed.stack.up()
    ip = deployed.head_ip()
    open_ports = {n: f"{ip}:{RAY_PORTS[n]}" for n in ("gcs", "client", "dashboard", "node-manager")}
    wait_for(
        lambda: _reachable(deployed, f"{OTHER}/probe", open_ports) == set(open_ports),
        60,
        "the unrelated pod reaching the head once the policy is gone",
        interval=1,
    )
    timed("policy: networkPolicy=false -> the unrelated pod reaches the head", time.monotonic() - t0)
    head = deployed.ray.head()["metadata"]["name"]
    outside = {"unlisted namespace": f"{deployed.ips[f'{OTHER}/probe']}:{PROBE_PORT}"}
    assert _reachable(deployed, f"{NAMESPACE}/{head}", outside) == {"unlisted namespace"}


def test_9_policy_down_removes_every_rule_and_set_of_the_engine(deployed: Policed) -> None:
    down = _node_sh_policy("down", deployed.session.env)
    assert down.returncode == 0
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in rules.splitlines() if "KUBE-ROUTER" in line or "KUBE-POD-FW" in line
                or "KUBE-NWPLCY" in line or "POLICY-GUARD" in line]  # fmt: skip
    sets = subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True, check=True).stdout
    assert not [s for s in sets.split() if "KUBE-" in s], sets
    forward = subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True, text=True, check=True)
    assert forward.stdout.splitlines()[1] == "-A FORWARD -j RAY-STATIC-NODE-GUARD", forward.stdout
    log("kube-router stopped; its chains and ipsets are gone and the guard is first in FORWARD again")

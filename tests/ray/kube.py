"""Kubernetes semantics the harness needs, as pure functions: no processes, no namespaces, no root.

Turns a rendered pod template into what a kubelet would run: env resolved (values, `secretKeyRef`,
`configMapKeyRef`, `fieldRef`, `resourceFieldRef`, `envFrom`) and `$(VAR)` references in env, command and
args expanded exactly as Kubernetes does; probes, ports, volumes and the security context read out.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

_SUFFIXES = {
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "Pi": Decimal(1024**5),
    "Ei": Decimal(1024**6),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def plain(value: Any) -> Any:
    """A rendered manifest with whole floats made ints (the mock engine turns every number into a float)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def parse_quantity(value: str | int | float) -> Decimal:
    """A Kubernetes resource quantity ("500m", "2Gi", "1e3", 4) as an exact number."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: `$$` escapes, unknown references are left as they are."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$" or i + 1 == len(text):
            out.append(text[i])
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end == -1:
                out.append(text[i:])
                break
            name = text[i + 2 : end]
            out.append(env[name] if name in env else text[i : end + 1])
            i = end + 1
        else:
            out.append("$")
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class PodContext:
    """What the API server and kubelet know about a pod that its template does not say."""

    name: str
    namespace: str
    ip: str
    node_name: str = "harness-node"
    host_ip: str = ""
    uid: str = "00000000-0000-0000-0000-000000000000"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    service_account: str = "default"


@dataclass(frozen=True)
class Objects:
    """The Secrets and ConfigMaps of the rendered program, by (namespace, name), as plain strings."""

    secrets: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    config_maps: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)

    @staticmethod
    def secret_data(manifest: Mapping[str, Any]) -> dict[str, str]:
        """A Secret's keys as the pod sees them: `data` base64-decoded, `stringData` winning on clashes."""
        data = {k: base64.b64decode(v).decode() for k, v in (manifest.get("data") or {}).items()}
        data.update(manifest.get("stringData") or {})
        return data


@dataclass(frozen=True)
class Probe:
    kind: str
    """httpGet, tcpSocket, exec or grpc."""
    action: Mapping[str, Any]
    initial_delay: int
    period: int
    timeout: int
    success_threshold: int
    failure_threshold: int

    @staticmethod
    def parse(spec: Mapping[str, Any]) -> Probe:
        kinds = [k for k in ("httpGet", "tcpSocket", "exec", "grpc") if k in spec]
        if len(kinds) != 1:
            raise ValueError(f"a probe needs exactly one handler, got {sorted(spec)}")
        return Probe(
            kind=kinds[0],
            action=spec[kinds[0]],
            initial_delay=int(spec.get("initialDelaySeconds", 0)),
            period=int(spec.get("periodSeconds", 10)),
            timeout=int(spec.get("timeoutSeconds", 1)),
            success_threshold=int(spec.get("successThreshold", 1)),
            failure_threshold=int(spec.get("failureThreshold", 3)),
        )


@dataclass(frozen=True)
class Mount:
    volume: str
    path: str
    read_only: bool = False
    sub_path: str = ""


@dataclass(frozen=True)
class Container:
    """One container as the kubelet would start it (before the image's own env and PATH are added)."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    ports: Mapping[str, int]
    """Container port numbers by name (unnamed ports under their number as a string)."""
    probes: Mapping[str, Probe]
    """readiness/liveness/startup -> probe."""
    mounts: tuple[Mount, ...]
    run_as_user: int | None
    run_as_group: int | None
    allow_privilege_escalation: bool
    working_dir: str | None
    resources: Mapping[str, Mapping[str, Decimal]]
    """limits/requests -> resource name -> quantity."""


@dataclass(frozen=True)
class Volume:
    name: str
    kind: str
    """emptyDir or secret (what a static Ray pod uses); anything else is refused."""
    medium: str = ""
    size_limit: int | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    """secret: relative path -> content, as the kubelet projects the Secret's items."""
    mode: int = 0o644
    """secret: the files' mode (defaultMode)."""


def volume(spec: Mapping[str, Any], ctx: PodContext, objects: Objects) -> Volume:
    """One pod volume: an emptyDir, or a Secret projected into files (its `items`, or every key)."""
    if "emptyDir" in spec:
        ed = spec["emptyDir"] or {}
        size = ed.get("sizeLimit")
        return Volume(
            spec["name"], "emptyDir", ed.get("medium", ""), int(parse_quantity(size)) if size else None
        )
    if "secret" in spec:
        source = spec["secret"]
        items = source.get("items") or [
            {"key": k, "path": k} for k in objects.secrets.get((ctx.namespace, source["secretName"]), {})
        ]
        files = {
            item["path"]: _lookup(
                objects.secrets,
                ctx.namespace,
                {"name": source["secretName"], "key": item["key"]},
                "secret volume",
            )
            or ""
            for item in items
        }
        return Volume(spec["name"], "secret", files=files, mode=int(source.get("defaultMode", 0o644)))
    raise ValueError(
        f"volume {spec['name']}: only emptyDir and secret volumes are emulated, got {sorted(spec)}"
    )


@dataclass(frozen=True)
class Pod:
    context: PodContext
    init_containers: tuple[Container, ...]
    containers: tuple[Container, ...]
    volumes: Mapping[str, Volume]
    restart_policy: str
    supplemental_groups: tuple[int, ...]
    fs_group: int | None
    termination_grace: int


def _field_ref(path: str, ctx: PodContext) -> str:
    simple = {
        "metadata.name": ctx.name,
        "metadata.namespace": ctx.namespace,
        "metadata.uid": ctx.uid,
        "spec.nodeName": ctx.node_name,
        "spec.serviceAccountName": ctx.service_account,
        "status.hostIP": ctx.host_ip,
        "status.hostIPs": ctx.host_ip,
        "status.podIP": ctx.ip,
        "status.podIPs": ctx.ip,
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        source = ctx.labels if match.group(1) == "labels" else ctx.annotations
        return source.get(match.group(2), "")
    raise ValueError(f"fieldRef {path!r} is not supported by the harness")


def _resource_ref(ref: Mapping[str, Any], resources: Mapping[str, Mapping[str, Decimal]]) -> str:
    kind, _, name = ref["resource"].partition(".")
    value = resources.get(kind, {}).get(name)
    if value is None and kind == "requests":
        value = resources.get("limits", {}).get(name)
    if value is None:
        raise ValueError(f"resourceFieldRef {ref['resource']!r}: the container sets no such resource")
    divisor = parse_quantity(ref.get("divisor", "1"))
    # The kubelet rounds up (cpu 500m with divisor 1 gives "1").
    return str(math.ceil(value / divisor))


def _resources(spec: Mapping[str, Any]) -> dict[str, dict[str, Decimal]]:
    return {
        kind: {name: parse_quantity(q) for name, q in (spec.get(kind) or {}).items()}
        for kind in ("limits", "requests")
    }


def _lookup(
    store: Mapping[tuple[str, str], Mapping[str, str]], ns: str, ref: Mapping[str, Any], what: str
) -> str | None:
    obj = store.get((ns, ref["name"]))
    if obj is None or ref["key"] not in obj:
        if ref.get("optional"):
            return None
        raise ValueError(f"{what} {ref['name']}/{ref['key']} is not among the rendered objects")
    return obj[ref["key"]]


def resolve_env(spec: Mapping[str, Any], ctx: PodContext, objects: Objects) -> dict[str, str]:
    """The container's env in order: envFrom first, then env, each value `$(VAR)`-expanded against
    the variables defined before it."""
    env: dict[str, str] = {}
    resources = _resources(spec.get("resources") or {})
    for source in spec.get("envFrom") or []:
        prefix = source.get("prefix", "")
        ref = source.get("secretRef") or source.get("configMapRef")
        store = objects.secrets if "secretRef" in source else objects.config_maps
        values = store.get((ctx.namespace, ref["name"]))
        if values is None and not ref.get("optional"):
            raise ValueError(f"envFrom {ref['name']} is not among the rendered objects")
        for k, v in (values or {}).items():
            env[prefix + k] = v
    for var in spec.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        source = var["valueFrom"]
        value: str | None
        if "secretKeyRef" in source:
            value = _lookup(objects.secrets, ctx.namespace, source["secretKeyRef"], "secretKeyRef")
        elif "configMapKeyRef" in source:
            value = _lookup(objects.config_maps, ctx.namespace, source["configMapKeyRef"], "configMapKeyRef")
        elif "fieldRef" in source:
            value = _field_ref(source["fieldRef"]["fieldPath"], ctx)
        elif "resourceFieldRef" in source:
            value = _resource_ref(source["resourceFieldRef"], resources)
        else:
            raise ValueError(f"env {name}: unsupported valueFrom {sorted(source)}")
        if value is not None:
            env[name] = value
    return env


def container(
    spec: Mapping[str, Any], pod: Mapping[str, Any], ctx: PodContext, objects: Objects
) -> Container:
    """One container of a pod template, as the kubelet would run it."""
    env = resolve_env(spec, ctx, objects)
    if not spec.get("command"):
        raise ValueError(
            f"container {spec['name']}: no command; the harness does not know the image's entrypoint"
        )
    argv = tuple(expand(str(a), env) for a in [*spec["command"], *(spec.get("args") or [])])
    ports: dict[str, int] = {}
    for p in spec.get("ports") or []:
        if p.get("protocol", "TCP") != "TCP":
            continue
        ports[p.get("name") or str(p["containerPort"])] = int(p["containerPort"])
    probes = {
        kind: Probe.parse(spec[f"{kind}Probe"])
        for kind in ("readiness", "liveness", "startup")
        if spec.get(f"{kind}Probe")
    }
    pod_sc = pod.get("securityContext") or {}
    sc = spec.get("securityContext") or {}
    return Container(
        name=spec["name"],
        argv=argv,
        env=env,
        ports=ports,
        probes=probes,
        mounts=tuple(
            Mount(m["name"], m["mountPath"], bool(m.get("readOnly")), m.get("subPath", ""))
            for m in spec.get("volumeMounts") or []
        ),
        run_as_user=sc.get("runAsUser", pod_sc.get("runAsUser")),
        run_as_group=sc.get("runAsGroup", pod_sc.get("runAsGroup")),
        allow_privilege_escalation=bool(sc.get("allowPrivilegeEscalation", True)),
        working_dir=spec.get("workingDir"),
        resources=_resources(spec.get("resources") or {}),
    )


def pod(template: Mapping[str, Any], ctx: PodContext, objects: Objects) -> Pod:
    """A Deployment's `spec.template` turned into a runnable pod for `ctx`."""
    spec = template["spec"]
    labels = {**(template.get("metadata") or {}).get("labels", {}), **ctx.labels}
    ctx = PodContext(**{**ctx.__dict__, "labels": labels})
    volumes = {v["name"]: volume(v, ctx, objects) for v in spec.get("volumes") or []}
    sc = spec.get("securityContext") or {}
    return Pod(
        context=ctx,
        init_containers=tuple(container(c, spec, ctx, objects) for c in spec.get("initContainers") or []),
        containers=tuple(container(c, spec, ctx, objects) for c in spec["containers"]),
        volumes=volumes,
        restart_policy=spec.get("restartPolicy", "Always"),
        supplemental_groups=tuple(sc.get("supplementalGroups") or ()),
        fs_group=sc.get("fsGroup"),
        termination_grace=int(spec.get("terminationGracePeriodSeconds", 30)),
    )


def service_target_port(port: Mapping[str, Any], containers: tuple[Container, ...]) -> int:
    """The container port a Service port forwards to (targetPort by number or by container port name)."""
    target = port.get("targetPort", port["port"])
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for c in containers:
        if target in c.ports:
            return c.ports[target]
    raise ValueError(f"Service port {port.get('name')}: targetPort {target!r} names no container port")

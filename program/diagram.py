"""docs/deployed.svg: what one RayCluster deploys, drawn from the objects the builders make.

Every name, port, replica count, mount and policy rule in the picture is read from the pure builders'
output for the given args (the default cluster unless told otherwise), so the picture cannot drift from
the code: tests/unit/test_docs.py redraws it and compares. `scripts/sync-config` writes it.
"""

from dataclasses import dataclass
from html import escape
from typing import Any

from ray_static import constants as c
from ray_static.cluster.objects import (
    head_deployment_args,
    head_service_args,
    namespace_args,
    worker_deployment_args,
)
from ray_static.cluster.security import auth_secret_metadata, network_policy_args, service_account_args
from ray_static.cluster.wire import to_wire
from ray_static.config.settings import Settings, resolve

WIDTH, HEIGHT = 900, 520
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
COLORS = {"ns": "#f4f6fb", "svc": "#e3f0ff", "head": "#fff1dc", "worker": "#e6f7e9", "sec": "#f7e8f5"}


@dataclass(frozen=True)
class Box:
    """A labelled rectangle: a title line and detail lines."""

    x: int
    y: int
    w: int
    h: int
    title: str
    lines: tuple[str, ...]
    fill: str

    def svg(self) -> str:
        parts = [
            f"<rect x='{self.x}' y='{self.y}' width='{self.w}' height='{self.h}' rx='8' fill='{self.fill}' "
            "stroke='#4a5568' stroke-width='1.2'/>",
            f"<text x='{self.x + 10}' y='{self.y + 20}' {FONT} font-size='13' font-weight='bold'>"
            f"{escape(self.title)}</text>",
        ]
        parts += [
            f"<text x='{self.x + 10}' y='{self.y + 38 + 16 * i}' {FONT} font-size='11'>{escape(line)}</text>"
            for i, line in enumerate(self.lines)
        ]
        return "\n".join(parts)


def _arrow(x1: int, y1: int, x2: int, y2: int, label: str) -> str:
    mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2
    return (
        f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='#2d3748' stroke-width='1.4' "
        "marker-end='url(#arrow)'/>\n"
        f"<text x='{mid_x + 6}' y='{mid_y - 4}' {FONT} font-size='10' fill='#2d3748'>{escape(label)}</text>"
    )


def _wire(settings: Settings) -> dict[str, Any]:
    """The objects of one cluster, in Kubernetes wire format (the token as a placeholder)."""
    worker = settings.groups[0]
    return {
        "namespace": to_wire(namespace_args(settings)),
        "service": to_wire(head_service_args(settings)),
        "head": to_wire(head_deployment_args(settings)),
        "worker": to_wire(worker_deployment_args(settings, worker)),
        # The Secret's data is a secret Output: its metadata is all the picture needs.
        "secret": {"metadata": to_wire(auth_secret_metadata(settings))} if settings.auth else None,
        "account": to_wire(service_account_args(settings)),
        "policy": to_wire(network_policy_args(settings)) if settings.network_policy else None,
    }


def _container_lines(deployment: dict[str, Any]) -> tuple[str, ...]:
    spec = deployment["spec"]["template"]["spec"]
    main = spec["containers"][0]
    limits = main["resources"]["limits"]
    mounts = ", ".join(m["mountPath"] for m in main.get("volumeMounts", []))
    start = " ".join(main["command"]).split("ray start ", 1)[-1].split()[0]
    lines = [
        f"{deployment['spec']['replicas']} replica(s), {limits['cpu']} CPU / {limits['memory']} each",
        f"container {main['name']}: ray start {start.split('.', 1)[0]} ...",
    ]
    lines += [f"init {init['name']}: waits for the GCS" for init in spec.get("initContainers", [])]
    lines.append(f"mounts {mounts}")
    return tuple(lines)


def boxes(settings: Settings) -> list[Box]:
    """The boxes of the picture, from the objects' wire format."""
    objects = _wire(settings)
    service, head, worker = objects["service"], objects["head"], objects["worker"]
    ports = " · ".join(f"{p['name']} {p['port']}" for p in service["spec"]["ports"])
    enforce = objects["namespace"]["metadata"]["labels"].get("pod-security.kubernetes.io/enforce")
    out = [
        Box(20, 20, 860, 480, f"Namespace {settings.namespace}",
            (f"pod-security.kubernetes.io/enforce: {enforce}",), COLORS["ns"]),
        Box(300, 70, 300, 70, f"Service {service['metadata']['name']} ({service['spec']['type']})",
            (ports,), COLORS["svc"]),
        Box(40, 190, 390, 110, f"Deployment {head['metadata']['name']} ({head['spec']['strategy']['type']})",
            _container_lines(head), COLORS["head"]),
        Box(470, 190, 390, 110, f"Deployment {worker['metadata']['name']}",
            _container_lines(worker), COLORS["worker"]),
        Box(40, 370, 260, 110, f"ServiceAccount {objects['account']['metadata']['name']}",
            ("automountServiceAccountToken: false",), COLORS["sec"]),
    ]  # fmt: skip
    if objects["secret"] is not None:
        token = (f"key {c.AUTH_SECRET_KEY}: the Ray token", f"file {c.AUTH_TOKEN_PATH}",
                 "in every Ray container, read-only")  # fmt: skip
        out.append(
            Box(320, 370, 260, 110, f"Secret {objects['secret']['metadata']['name']}", token, COLORS["sec"])
        )
    if objects["policy"] is not None:
        pinned = len(objects["policy"]["spec"]["ingress"][0]["ports"])
        rules = (
            "ingress only from this cluster's pods",
            f"{pinned} pinned ports/ranges",
            "+ the allowed clients",
        )
        out.append(Box(600, 370, 260, 110, f"NetworkPolicy {objects['policy']['metadata']['name']}", rules,
                       COLORS["sec"]))  # fmt: skip
    return out


def render(args: dict[str, Any] | None = None, name: str = c.DEFAULT_NAME) -> str:
    """The SVG text for the cluster ``name`` with ``args`` (the default cluster by default)."""
    settings = resolve(name, args or {})
    gcs = f"join {settings.head_name}:{c.GCS_PORT}"
    body = [b.svg() for b in boxes(settings)]
    body += [_arrow(400, 140, 300, 190, "selects the head pod"), _arrow(640, 190, 560, 140, gcs)]
    if settings.auth:
        body += [_arrow(420, 370, 300, 300, "token file"), _arrow(480, 370, 600, 300, "token file")]
    return "\n".join(
        [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
            f"viewBox='0 0 {WIDTH} {HEIGHT}'>",
            "<defs><marker id='arrow' markerWidth='10' markerHeight='8' refX='9' refY='4' orient='auto'>"
            "<path d='M0,0 L10,4 L0,8 z' fill='#2d3748'/></marker></defs>",
            f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
            *body,
            "</svg>",
            "",
        ]
    )

"""Secure defaults: the token Secret, the ServiceAccount, the NetworkPolicy and Pod Security labels."""

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.networking.v1 as networking

from ray_static import constants as c
from ray_static.cluster.egress import egress_rules
from ray_static.cluster.labels import cluster_selector, labels
from ray_static.config.settings import Settings


def pod_security_labels(level: str) -> dict[str, str]:
    """Namespace labels that make the API server enforce (and warn at) the Pod Security Standard
    `pod_security` names (`restricted` by default)."""
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": level,
        "pod-security.kubernetes.io/warn-version": "latest",
    }


def auth_secret_metadata(settings: Settings) -> meta.ObjectMetaArgs:
    """Name, namespace and labels of the `<name>-auth` Secret."""
    return meta.ObjectMetaArgs(
        name=settings.auth_secret_name, namespace=settings.namespace, labels=labels(settings)
    )


def auth_secret_args(settings: Settings, token: pulumi.Input[str]) -> core.SecretInitArgs:
    """The `<name>-auth` Secret holding the token every Ray container reads as a file."""
    return core.SecretInitArgs(
        metadata=auth_secret_metadata(settings),
        type="Opaque",
        string_data={c.AUTH_SECRET_KEY: pulumi.Output.secret(token)},
    )


def service_account_args(settings: Settings) -> core.ServiceAccountInitArgs:
    """A dedicated identity with no API token: a static Ray cluster needs no Kubernetes API access."""
    return core.ServiceAccountInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=settings.service_account, namespace=settings.namespace, labels=labels(settings)
        ),
        automount_service_account_token=False,
    )


def _ports(ports: list[int]) -> list[networking.NetworkPolicyPortArgs]:
    return [networking.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]


def intra_cluster_ports() -> list[networking.NetworkPolicyPortArgs]:
    """Every port Ray nodes use to talk to each other, exactly as pinned in `ray start`."""
    return [
        *_ports(
            [
                c.GCS_PORT,
                c.CLIENT_PORT,
                c.DASHBOARD_PORT,
                c.METRICS_PORT,
                c.OBJECT_MANAGER_PORT,
                c.NODE_MANAGER_PORT,
                c.DASHBOARD_AGENT_GRPC_PORT,
                c.RUNTIME_ENV_AGENT_PORT,
                c.DASHBOARD_AGENT_LISTEN_PORT,
            ]
        ),
        networking.NetworkPolicyPortArgs(protocol="TCP", port=c.MIN_WORKER_PORT, end_port=c.MAX_WORKER_PORT),
    ]


def serve_ports(settings: Settings) -> list[networking.NetworkPolicyPortArgs]:
    """Ray Serve's HTTP port, when it is on."""
    return _ports([settings.serve_port]) if settings.serve_port is not None else []


def client_ports() -> list[networking.NetworkPolicyPortArgs]:
    """What an allowed client needs: Ray Client, the dashboard / Jobs API, and the GCS for drivers."""
    return _ports([c.CLIENT_PORT, c.DASHBOARD_PORT, c.GCS_PORT])


def job_submitter_rule() -> networking.NetworkPolicyIngressRuleArgs:
    """RayJob submitters in the cluster's namespace reach the Jobs API (the dashboard port) and nothing else;
    they carry no cluster name (another stack knows only the cluster's outputs), and need its token."""
    return networking.NetworkPolicyIngressRuleArgs(
        from_=[
            networking.NetworkPolicyPeerArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels={c.SUBMITTER_LABEL: "true"})
            )
        ],
        ports=_ports([c.DASHBOARD_PORT]),
    )


def serve_keeper_rule(settings: Settings) -> list[networking.NetworkPolicyIngressRuleArgs]:
    """A RayServe's keeper, in the cluster's namespace, reaches every pod's Serve proxy (it probes its
    health) and the dashboard (it deletes the applications when the RayServe goes); with serve on only."""
    if settings.serve_port is None:
        return []
    return [
        networking.NetworkPolicyIngressRuleArgs(
            from_=[
                networking.NetworkPolicyPeerArgs(
                    pod_selector=meta.LabelSelectorArgs(match_labels={c.SERVE_KEEPER_LABEL: "true"})
                )
            ],
            ports=_ports([c.DASHBOARD_PORT, settings.serve_port]),
        )
    ]


def metrics_ports() -> list[networking.NetworkPolicyPortArgs]:
    """What Prometheus scrapes: every node's metrics port and the head dashboard's."""
    return _ports([c.METRICS_PORT, c.DASHBOARD_METRICS_PORT])


def _from_namespaces(namespaces: tuple[str, ...]) -> list[networking.NetworkPolicyPeerArgs]:
    return [
        networking.NetworkPolicyPeerArgs(
            namespace_selector=meta.LabelSelectorArgs(match_labels={c.NAMESPACE_NAME_LABEL: ns})
        )
        for ns in namespaces
    ]


def exposure_rules(settings: Settings) -> list[networking.NetworkPolicyIngressRuleArgs]:
    """Prometheus to the metrics ports; an Ingress controller to the dashboard port."""
    rules = []
    if settings.metrics.prometheus_namespaces:
        rules.append(
            networking.NetworkPolicyIngressRuleArgs(
                from_=_from_namespaces(settings.metrics.prometheus_namespaces), ports=metrics_ports()
            )
        )
    if settings.ingress is not None and settings.ingress.controller_namespaces:
        rules.append(
            networking.NetworkPolicyIngressRuleArgs(
                from_=_from_namespaces(settings.ingress.controller_namespaces),
                ports=_ports([c.DASHBOARD_PORT]),
            )
        )
    return rules


def network_policy_args(settings: Settings) -> networking.NetworkPolicyInitArgs:
    """Ingress to this cluster's pods only from its own pods, plus the allowed clients (namespaces, pod
    labels, outside ranges) on the client ports and RayJob submitters on the dashboard port; with `egress`
    set, egress only to what cluster/egress.py allows."""
    rules = [
        networking.NetworkPolicyIngressRuleArgs(
            from_=[
                networking.NetworkPolicyPeerArgs(
                    pod_selector=meta.LabelSelectorArgs(match_labels=cluster_selector(settings))
                )
            ],
            ports=[*intra_cluster_ports(), *serve_ports(settings)],
        )
    ]
    clients = [
        networking.NetworkPolicyPeerArgs(
            namespace_selector=meta.LabelSelectorArgs(match_labels={c.NAMESPACE_NAME_LABEL: ns})
        )
        for ns in settings.allowed_client_namespaces
    ]
    if settings.allowed_client_pod_labels:
        clients.append(
            networking.NetworkPolicyPeerArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels=dict(settings.allowed_client_pod_labels))
            )
        )
    clients += [
        networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=cidr))
        for cidr in settings.allowed_client_cidrs
    ]
    if clients:
        rules.append(
            networking.NetworkPolicyIngressRuleArgs(
                from_=clients, ports=[*client_ports(), *serve_ports(settings)]
            )
        )
    rules.append(job_submitter_rule())
    rules.extend(serve_keeper_rule(settings))
    rules.extend(exposure_rules(settings))
    egress = egress_rules(settings)
    return networking.NetworkPolicyInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=settings.name, namespace=settings.namespace, labels=labels(settings)
        ),
        spec=networking.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(match_labels=cluster_selector(settings)),
            policy_types=["Ingress", "Egress"] if settings.egress is not None else ["Ingress"],
            ingress=rules,
            egress=egress or None,
        ),
    )

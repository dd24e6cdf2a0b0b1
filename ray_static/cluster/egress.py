"""The NetworkPolicy's egress rules, when `egress` is set: the cluster DNS, the cluster's own pods, what
the settings point at (config/egress.py resolves those targets) and the namespaces and ranges listed."""

import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.networking.v1 as networking

from ray_static import constants as c
from ray_static.cluster.labels import cluster_selector
from ray_static.config.egress import Egress, Target
from ray_static.config.settings import Settings

DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
"""The cluster DNS's pods where `dns_cidrs` is empty: CoreDNS's labels on kubeadm, GKE, EKS and AKS."""
DNS_PORT = 53


def _namespace(namespace: str) -> meta.LabelSelectorArgs:
    return meta.LabelSelectorArgs(match_labels={c.NAMESPACE_NAME_LABEL: namespace})


def _cidr(cidr: str) -> networking.NetworkPolicyPeerArgs:
    return networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=cidr))


def dns_rule(egress: Egress) -> networking.NetworkPolicyEgressRuleArgs:
    """Name lookups (UDP and TCP 53) to the cluster DNS only."""
    if egress.dns_cidrs:
        peers = [_cidr(cidr) for cidr in egress.dns_cidrs]
    else:
        peers = [
            networking.NetworkPolicyPeerArgs(
                namespace_selector=_namespace(DNS_NAMESPACE),
                pod_selector=meta.LabelSelectorArgs(match_labels=DNS_POD_LABELS),
            )
        ]
    ports = [networking.NetworkPolicyPortArgs(protocol=p, port=DNS_PORT) for p in ("UDP", "TCP")]
    return networking.NetworkPolicyEgressRuleArgs(to=peers, ports=ports)


def own_pods_rule(settings: Settings) -> networking.NetworkPolicyEgressRuleArgs:
    """Ray nodes to each other, on any port: the ingress rules already pin which ports are open."""
    return networking.NetworkPolicyEgressRuleArgs(
        to=[
            networking.NetworkPolicyPeerArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels=cluster_selector(settings))
            )
        ]
    )


def target_rule(target: Target) -> networking.NetworkPolicyEgressRuleArgs:
    """One target the settings name (Redis, Prometheus, Grafana), on its TCP port."""
    peer = (
        _cidr(target.cidr)
        if target.cidr is not None
        else networking.NetworkPolicyPeerArgs(namespace_selector=_namespace(str(target.namespace)))
    )
    return networking.NetworkPolicyEgressRuleArgs(
        to=[peer], ports=[networking.NetworkPolicyPortArgs(protocol="TCP", port=target.port)]
    )


def listed_rule(egress: Egress) -> list[networking.NetworkPolicyEgressRuleArgs]:
    """The namespaces and ranges the user lists, on any port."""
    peers = [
        networking.NetworkPolicyPeerArgs(namespace_selector=_namespace(ns))
        for ns in egress.allowed_namespaces
    ]
    peers += [_cidr(cidr) for cidr in egress.allowed_cidrs]
    return [networking.NetworkPolicyEgressRuleArgs(to=peers)] if peers else []


def egress_rules(settings: Settings) -> list[networking.NetworkPolicyEgressRuleArgs]:
    """Every egress rule of the cluster's NetworkPolicy; empty when `egress` is not set."""
    egress = settings.egress
    if egress is None:
        return []
    return [
        dns_rule(egress),
        own_pods_rule(settings),
        *(target_rule(t) for t in egress.targets),
        *listed_rule(egress),
    ]

"""The Ingress to the head's dashboard."""

import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.networking.v1 as networking

from ray_static import constants as c
from ray_static.cluster.labels import labels
from ray_static.config.ingress import Ingress
from ray_static.config.settings import Settings


def ingress_name(settings: Settings) -> str:
    return f"{settings.name}-dashboard"


def dashboard_ingress_args(settings: Settings, ingress: Ingress) -> networking.IngressInitArgs:
    """Routes `host` + `path` (a prefix) to the head Service's dashboard port; TLS with a Secret.

    Not awaited unless the user's annotations say so: pulumi-kubernetes waits for an Ingress controller to
    publish an address, which some controllers never do, and the URL is known without it.
    """
    backend = networking.IngressBackendArgs(
        service=networking.IngressServiceBackendArgs(
            name=settings.head_name, port=networking.ServiceBackendPortArgs(number=c.DASHBOARD_PORT)
        )
    )
    tls = (
        [networking.IngressTLSArgs(hosts=[ingress.host], secret_name=ingress.tls_secret)]
        if ingress.tls_secret
        else None
    )
    return networking.IngressInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=ingress_name(settings),
            namespace=settings.namespace,
            labels=labels(settings),
            annotations={c.SKIP_AWAIT_ANNOTATION: "true", **ingress.annotations},
        ),
        spec=networking.IngressSpecArgs(
            ingress_class_name=ingress.class_name,
            tls=tls,
            rules=[
                networking.IngressRuleArgs(
                    host=ingress.host,
                    http=networking.HTTPIngressRuleValueArgs(
                        paths=[
                            networking.HTTPIngressPathArgs(
                                path=ingress.path, path_type="Prefix", backend=backend
                            )
                        ]
                    ),
                )
            ],
        ),
    )

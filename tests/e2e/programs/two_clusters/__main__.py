"""Two RayClusters in one stack and one namespace: the first creates the namespace, the second reuses it."""

import pulumi

from ray_static import RayCluster

NAMESPACE = "pair"

alpha = RayCluster("alpha", {"namespace": NAMESPACE, "workers": 2})
beta = RayCluster(
    "beta",
    {"namespace": NAMESPACE, "create_namespace": False, "workers": 1},
    pulumi.ResourceOptions(depends_on=[alpha]),
)

for cluster, label in ((alpha, "alpha"), (beta, "beta")):
    pulumi.export(f"{label}_gcs_address", cluster.gcs_address)
    pulumi.export(f"{label}_client_address", cluster.client_address)

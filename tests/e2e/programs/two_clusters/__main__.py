"""Two RayClusters in one stack and one namespace: the first creates the namespace, the second takes it
from the first one's output (which also orders the second after the namespace)."""

import pulumi

from ray_static import RayCluster

alpha = RayCluster("alpha", {"namespace": "pair", "workers": 2})
beta = RayCluster("beta", {"namespace": alpha.namespace, "create_namespace": False, "workers": 1})

for cluster, label in ((alpha, "alpha"), (beta, "beta")):
    pulumi.export(f"{label}_gcs_address", cluster.gcs_address)
    pulumi.export(f"{label}_client_address", cluster.client_address)

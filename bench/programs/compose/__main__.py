"""N RayClusters in one stack: `ray` alone, or c0..cN-1 each in its own namespace (as bench/worker.py)."""

import pulumi

from ray_static import RayCluster

count = pulumi.Config().get_int("clusters") or 1
if count == 1:
    RayCluster("ray", {})
else:
    for i in range(count):
        RayCluster(f"c{i}", {"namespace": f"c{i}"})

"""The RayCluster component and the pure builders of its Kubernetes objects."""

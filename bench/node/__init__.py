"""Benchmarks on the real node (scripts/node.sh): real pods running the locally built Ray image, measured
against Ray's own floor, the same Ray processes in bare pods applied with kubectl, and against KubeRay's
RayCluster with its operator running on the host (`--scenario`)."""

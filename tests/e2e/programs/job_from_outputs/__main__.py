"""A RayJob that knows its cluster only through the cluster stack's outputs (a StackReference)."""

import pulumi

from ray_static import RayJob

config = pulumi.Config()
cluster = pulumi.StackReference(config.require("clusterStack"))

job = RayJob(
    "remote",
    {
        "namespace": cluster.require_output("namespace"),
        "dashboard_url": cluster.require_output("dashboard_url"),
        "auth_secret": cluster.get_output("auth_secret_name"),
        "image": cluster.require_output("image"),
        "entrypoint": config.get("entrypoint") or "python -c 'print(\"from another stack\")'",
    },
)

pulumi.export("submission_id", job.submission_id)
pulumi.export("job_name", job.job_name)
pulumi.export("status", job.status)

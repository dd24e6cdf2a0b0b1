"""The ray-static Pulumi program: stack config -> one RayCluster (the jobs to run on it, its Serve
applications) -> outputs."""

import pulumi
from pulumi.runtime import config as runtime_config

from program.config import program_config
from program.failure import fail
from program.outputs import port_forward_command
from ray_static import RayCluster, RayJob, RayServe, RayStaticConfigError


def main() -> None:
    # The whole config mapping as the engine passes it, so unknown (typo'd) keys can be refused.
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {
        *runtime_config.get_config_secret_keys_env(),
        *(k for k in raw if runtime_config.is_config_secret(k)),
    }
    config = program_config(raw, secret_keys)
    for warning in config.warnings:
        pulumi.log.warn(warning)

    cluster = RayCluster(config.name, config.args)
    jobs = {job.name: RayJob(job.name, {**job.args, "cluster": cluster}) for job in config.jobs}
    serve = (
        RayServe(config.serve.settings.name, {**config.serve.args, "cluster": cluster})
        if config.serve
        else None
    )

    pulumi.export("namespace", cluster.namespace)
    pulumi.export("head_service_name", cluster.head_service_name)
    pulumi.export("gcs_address", cluster.gcs_address)
    pulumi.export("client_address", cluster.client_address)
    pulumi.export("dashboard_url", cluster.dashboard_url)
    pulumi.export("workers", config.settings.groups[0].replicas)
    pulumi.export("port_forward", port_forward_command(config.settings))
    pulumi.export("image", cluster.image)
    pulumi.export("image_pull_secrets", cluster.image_pull_secrets)
    if config.settings.auth:
        pulumi.export("auth_token", cluster.auth_token)
        pulumi.export("auth_secret_name", cluster.auth_secret_name)
    if jobs:
        pulumi.export(
            "jobs", {name: {"submission_id": j.submission_id, "status": j.status} for name, j in jobs.items()}
        )
    if serve is not None:
        pulumi.export("serve_url", serve.service_url)
    if config.settings.ingress is not None:
        pulumi.export("dashboard_ingress_url", cluster.dashboard_ingress_url)


try:
    main()
except RayStaticConfigError as error:
    raise fail(error) from None

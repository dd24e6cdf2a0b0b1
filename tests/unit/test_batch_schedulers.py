"""What lands on the head and worker pods for the batch-scheduler examples of docs/configuration.md
("Batch schedulers: queues and gang scheduling"): the examples themselves run, and each scheduler's keys
(as KubeRay's integrations set them) reach exactly the pods the page says."""

from typing import Any

import pytest

from ray_static import constants as c
from ray_static.config.kube_values import MANAGED_LABELS
from tests.support.manifests import deployment
from tests.support.markdown import blocks
from tests.support.render import REPO_ROOT, Rendered, run_programs
from tests.unit.test_docs_blocks import prelude

PAGE = REPO_ROOT / "docs" / "configuration.md"
TASK_GROUPS = (
    '[{"name": "headgroup", "minMember": 1, "minResource": {"cpu": "2", "memory": "4Gi"}},'
    ' {"name": "default", "minMember": 2, "minResource": {"cpu": "1", "memory": "2Gi"}}]'
)


def example(scheduler: str) -> list[Rendered]:
    """The resources of the page's example for ``scheduler`` (its block starts with ``# <scheduler>:``)."""
    [block] = [b for b in blocks(PAGE) if b.lang == "python" and b.code.startswith(f"# {scheduler}:")]

    def program() -> None:
        exec(compile(block.code, block.where, "exec"), prelude())

    return run_programs(program).resources


def scheduling(rendered: list[Rendered], name: str) -> dict[str, Any]:
    """The user's part of a Deployment's pods: schedulerName, labels and annotations ray-static does not
    set itself."""
    template = deployment(rendered, name)["spec"]["template"]
    labels = template["metadata"]["labels"]
    annotations = template["metadata"].get("annotations", {})
    return {
        "schedulerName": template["spec"].get("schedulerName"),
        "labels": {k: v for k, v in labels.items() if k not in MANAGED_LABELS},
        "annotations": {k: v for k, v in annotations.items() if not k.startswith(c.OWNED_ANNOTATION_PREFIX)},
    }


@pytest.mark.parametrize(
    ("scheduler", "head", "workers"),
    [
        (
            "Volcano",
            {
                "schedulerName": "volcano",
                "labels": {"volcano.sh/queue-name": "ml"},
                "annotations": {
                    "scheduling.k8s.io/group-name": "ray-ml",
                    "volcano.sh/task-spec": "headgroup",
                },
            },
            {
                "schedulerName": "volcano",
                "labels": {"volcano.sh/queue-name": "ml"},
                "annotations": {"scheduling.k8s.io/group-name": "ray-ml", "volcano.sh/task-spec": "default"},
            },
        ),
        (
            "YuniKorn",
            {
                "schedulerName": "yunikorn",
                "labels": {"applicationId": "ray-ml", "queue": "root.ml"},
                "annotations": {
                    "yunikorn.apache.org/task-groups": TASK_GROUPS,
                    "yunikorn.apache.org/task-group-name": "headgroup",
                },
            },
            {
                "schedulerName": "yunikorn",
                "labels": {"applicationId": "ray-ml", "queue": "root.ml"},
                "annotations": {
                    "yunikorn.apache.org/task-groups": TASK_GROUPS,
                    "yunikorn.apache.org/task-group-name": "default",
                },
            },
        ),
        (
            "Kueue",
            {"schedulerName": None, "labels": {"kueue.x-k8s.io/queue-name": "ml"}, "annotations": {}},
            {"schedulerName": None, "labels": {"kueue.x-k8s.io/queue-name": "ml"}, "annotations": {}},
        ),
    ],
)
def test_the_documented_example_lands_on_the_head_and_the_workers(
    scheduler: str, head: dict[str, Any], workers: dict[str, Any]
) -> None:
    rendered = example(scheduler)
    assert scheduling(rendered, "ray-head") == head
    assert scheduling(rendered, "ray-worker") == workers
    assert deployment(rendered, "ray-worker")["spec"]["replicas"] == 2


def test_the_yunikorn_task_groups_match_the_pods_they_describe() -> None:
    """minMember and minResource of each task group are the replicas and limits of its Deployment."""
    import json  # noqa: PLC0415

    rendered = example("YuniKorn")
    for group in json.loads(TASK_GROUPS):
        name = "ray-head" if group["name"] == c.HEAD_GROUP else "ray-worker"
        spec = deployment(rendered, name)["spec"]
        assert spec["template"]["metadata"]["labels"]["ray.io/group"] == group["name"]
        assert spec["replicas"] == group["minMember"]
        ray = spec["template"]["spec"]["containers"][0]
        assert ray["resources"]["requests"] == group["minResource"]

"""The keeper's decisions: which pods carry the serve label, and the removal's teardown."""

import json
from typing import Any

from ray_static import constants as c
from ray_static.serve import keeper

LABEL = c.SERVE_PROXY_LABEL


def pod(
    name: str, label: str | None = None, ip: str | None = "10.0.0.1", deleting: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {LABEL: label} if label else {}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "status": {"podIP": ip} if ip else {}}


def test_a_ready_proxy_gets_the_label_and_a_pod_without_one_is_marked_false() -> None:
    failures: dict[str, int] = {}
    changes = keeper.wanted_labels(
        [pod("head"), pod("worker")], {"head": True, "worker": False}, failures, LABEL
    )
    assert changes == {"head": "true", "worker": "false"}


def test_one_failed_probe_keeps_the_label_two_drop_it() -> None:
    failures: dict[str, int] = {}
    pods = [pod("w", "true")]
    assert keeper.wanted_labels(pods, {"w": False}, failures, LABEL) == {}
    assert keeper.wanted_labels(pods, {"w": False}, failures, LABEL) == {"w": "false"}
    assert keeper.wanted_labels(pods, {"w": True}, failures, LABEL) == {} and failures == {"w": 0}


def test_pods_gone_are_forgotten_and_nothing_unchanged_is_patched() -> None:
    failures = {"old": 1}
    assert keeper.wanted_labels([pod("w", "true")], {"w": True}, failures, LABEL) == {}
    assert failures == {"w": 0}


def test_only_pods_with_an_address_and_not_being_deleted_are_probed() -> None:
    listed = {"items": [pod("a"), pod("b", ip=None), pod("c", deleting=True)]}
    assert [p["metadata"]["name"] for p in keeper.serving_candidates(listed)] == ["a"]


def test_teardown_puts_no_applications_and_waits_until_serve_has_none() -> None:
    calls: list[tuple[str, Any]] = []
    states = [{"fruit": {}}, {}]

    def serve(method: str, path: str, body: Any) -> tuple[int, str]:
        calls.append((method, body))
        return 200, "" if method == "PUT" else json.dumps({"applications": states.pop(0)})

    assert keeper.teardown(serve, interval=0) is True
    assert calls == [("PUT", {"applications": []}), ("GET", None), ("GET", None)]

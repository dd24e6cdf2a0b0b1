"""The deployer against a fake Serve REST API: the PUT, the wait, the failure line and the restore."""

import json
from typing import Any

import pytest

from ray_static.serve import deployer
from ray_static.serve.rest import PATH

FRUIT = {"name": "fruit", "import_path": "fruit.app:app", "route_prefix": "/fruit"}
OLD = {**FRUIT, "import_path": "fruit.old:app"}
CONFIG = {
    "proxy_location": "EveryNode",
    "http_options": {"host": "0.0.0.0", "port": 8000},
    "applications": [FRUIT],
}


def app(
    config: dict[str, Any], status: str, message: str = "", deployment: str = "HEALTHY"
) -> dict[str, Any]:
    return {
        "status": status,
        "message": message,
        "deployed_app_config": config,
        "deployments": {
            "Fruit": {"status": deployment, "message": message if deployment != "HEALTHY" else ""}
        },
    }


class FakeServe:
    """Answers GETs from a script of states, records PUTs."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.puts: list[dict[str, Any]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, str]:
        if method == "PUT":
            self.puts.append(body)
            return 200, ""
        assert path == f"{PATH}?api_type=declarative"
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return 200, json.dumps({"applications": state})


def test_a_first_deploy_waits_until_running_and_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    serve = FakeServe(
        [{}, {}, {"fruit": app(FRUIT, "DEPLOYING", deployment="UPDATING")}, {"fruit": app(FRUIT, "RUNNING")}]
    )
    assert deployer.deploy(serve, CONFIG, timeout=10, interval=0) == 0
    assert serve.puts == [CONFIG]
    assert "every application is RUNNING" in capsys.readouterr().out


def test_the_previous_version_still_shown_is_not_taken_for_the_new_one() -> None:
    running_old = {"fruit": app(OLD, "RUNNING")}
    assert deployer.progress(CONFIG, running_old)[0] == "waiting"


def test_a_failed_application_is_one_line_then_its_last_lines_and_the_previous_version_comes_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    message = "Traceback (most recent call last):\n  File x\nModuleNotFoundError: No module named 'fruit'"
    serve = FakeServe([{"fruit": app(OLD, "RUNNING")}, {"fruit": app(FRUIT, "DEPLOY_FAILED", message)}])
    assert deployer.deploy(serve, CONFIG, timeout=10, interval=0) == deployer.FAILED_EXIT_CODE
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "application fruit: DEPLOY_FAILED: Traceback (most recent call last):"
    assert "ModuleNotFoundError: No module named 'fruit'" in out
    assert serve.puts == [CONFIG, {**CONFIG, "applications": [OLD]}]


def test_a_failed_first_deploy_restores_nothing() -> None:
    serve = FakeServe([{}, {"fruit": app(FRUIT, "DEPLOY_FAILED", "boom")}])
    assert deployer.deploy(serve, CONFIG, timeout=10, interval=0) == deployer.FAILED_EXIT_CODE
    assert serve.puts == [CONFIG]


def test_a_refused_config_fails_with_serves_text(capsys: pytest.CaptureFixture[str]) -> None:
    def refusing(method: str, path: str, body: Any) -> tuple[int, str]:
        return (400, "Invalid config: route_prefix") if method == "PUT" else (200, '{"applications": {}}')

    assert deployer.deploy(refusing, CONFIG, timeout=10, interval=0) == 1
    assert "Serve refused the config: HTTP 400: Invalid config: route_prefix" in capsys.readouterr().out


def test_an_api_that_never_answers_ends_the_deployer() -> None:
    with pytest.raises(SystemExit, match="did not answer: HTTP 0"):
        deployer.declarative(lambda m, p, b: (0, "connection refused"), tries=2, interval=0)

"""The deployer: what a RayServe's Kubernetes Job runs to put Serve's config on the cluster and wait for it.

Standard library only: the Job runs this file's source (with rest.py's) by the image's `python -c`, so it
imports nothing of an installed ray-static, and nothing of Ray either (the image's Ray need not match ours).

It is idempotent, so a retried pod does no harm: it reads the applications deployed so far (GET
`?api_type=declarative`), PUTs the whole config (Serve's REST API is declarative: applications missing from
it are deleted), then polls until every application is RUNNING and every deployment HEALTHY. Exit codes: 0
deployed; 3 an application failed (DEPLOY_FAILED or UNHEALTHY), reported as one line
``application <name>: <status>: <first line of its message>`` and the message's last lines; 1 its own
errors (an API that never answered, a refused config, the time limit).

On failure it PUTs the previous applications back, so the version that was running stays in place. What
Serve does by itself (Ray 2.60 serve/_private/application_state.py, apply_app_config): a new import_path,
runtime_env or args rebuilds the application, and while the build runs, and when it fails (an import
error, bad args), the old deployments keep running untouched; but a change of deployment options alone
(num_replicas, user_config, ...) updates the replicas in place, and if the new ones fail the old ones are
already gone. Restoring the previous config covers both: a rebuild of the same code keeps the running
replicas, and it brings back those an in-place update had replaced.

The dashboard address (RAY_API_SERVER_ADDRESS) and the token file (RAY_AUTH_TOKEN_PATH, unset without auth)
come from the environment; the token goes in `Authorization: Bearer`, never in a log line.
"""

import json
import sys
import time
from typing import Any

from ray_static.serve.rest import PATH, Http, http, say

API_TRIES = 24
INTERVAL_SECONDS = 2.0
MESSAGE_TAIL_LINES = 20
FAILED = ("DEPLOY_FAILED", "UNHEALTHY")
FAILED_EXIT_CODE = 3


def declarative(call: Http, tries: int = API_TRIES, interval: float = INTERVAL_SECONDS) -> dict[str, Any]:
    """Serve's state of the applications deployed by config; waits for an API that does not answer yet."""
    status, text = 0, ""
    for _ in range(tries):
        status, text = call("GET", f"{PATH}?api_type=declarative", None)
        if status == 200:
            return json.loads(text)
        time.sleep(interval)
    raise SystemExit(f"ray-static: Serve's REST API did not answer: HTTP {status}: {text.strip()[:500]}")


def previous_applications(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The config of each application deployed so far, as it was PUT."""
    apps = (state.get("applications") or {}).values()
    return [app["deployed_app_config"] for app in apps if app.get("deployed_app_config")]


def failure(name: str, app: dict[str, Any]) -> list[str]:
    """One line naming the application, its status and its message's first line, then the message's last
    lines (a traceback ends with the error) and those of each failed deployment's."""
    message = (app.get("message") or "").strip()
    lines = [f"application {name}: {app.get('status')}: {message.splitlines()[0] if message else ''}"]
    lines += message.splitlines()[1:][-MESSAGE_TAIL_LINES:]
    for deployment_name, deployment in sorted((app.get("deployments") or {}).items()):
        if deployment.get("status") in FAILED and deployment.get("message"):
            lines.append(f"deployment {deployment_name}: {deployment['status']}:")
            lines += deployment["message"].strip().splitlines()[-MESSAGE_TAIL_LINES:]
    return lines


def progress(config: dict[str, Any], state: dict[str, Any]) -> tuple[str, list[str]]:
    """("done" | "failed" | "waiting", lines): every application of the config, as Serve reports it."""
    reported = state.get("applications") or {}
    waiting: list[str] = []
    for wanted in config["applications"]:
        name = wanted["name"]
        app = reported.get(name)
        deployed = (app or {}).get("deployed_app_config") or {}
        if app is None or deployed.get("import_path") != wanted["import_path"]:
            waiting.append(f"application {name}: not deployed yet")
            continue
        if app.get("status") in FAILED:
            return "failed", failure(name, app)
        unhealthy = [d for d, v in (app.get("deployments") or {}).items() if v.get("status") != "HEALTHY"]
        if app.get("status") != "RUNNING" or unhealthy:
            waiting.append(
                f"application {name}: {app.get('status')}, waiting for {', '.join(unhealthy) or 'it'}"
            )
    return ("waiting", waiting) if waiting else ("done", [])


def restore(call: Http, previous: list[dict[str, Any]], config: dict[str, Any]) -> None:
    """PUT the applications that ran before, so that they stay (nothing to do on a first deploy)."""
    if not previous or previous == config["applications"]:
        return
    status, text = call("PUT", PATH, {**config, "applications": previous})
    if status == 200:
        say("put the previous applications back: " + ", ".join(app["name"] for app in previous))
    else:
        say(f"could not put the previous applications back: HTTP {status}: {text.strip()[:500]}")


def deploy(call: Http, config: dict[str, Any], timeout: float, interval: float = INTERVAL_SECONDS) -> int:
    """PUT the config, wait for it; the exit code (see the module docstring)."""
    previous = previous_applications(declarative(call, interval=interval))
    say("deploying " + ", ".join(f"{a['name']} at {a['route_prefix']}" for a in config["applications"]))
    status, text = call("PUT", PATH, config)
    if status != 200:
        say(f"Serve refused the config: HTTP {status}: {text.strip()}")
        return 1
    deadline, settled, lines = time.monotonic() + timeout, 0, ["no answer yet"]
    while time.monotonic() < deadline:
        time.sleep(interval)
        state, lines = progress(config, declarative(call, interval=interval))
        if state == "failed":
            for line in lines:
                print(line, flush=True)
            restore(call, previous, config)
            return FAILED_EXIT_CODE
        # Twice in a row: the first GET may still show the state from before the config.
        settled = settled + 1 if state == "done" else 0
        if settled == 2:
            say("every application is RUNNING and every deployment HEALTHY")
            return 0
    say(f"not RUNNING after {timeout:.0f} s: " + "; ".join(lines))
    return 1


def main(argv: list[str]) -> int:
    """``deployer CONFIG_JSON TIMEOUT_SECONDS``."""
    return deploy(http, json.loads(argv[1]), float(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))

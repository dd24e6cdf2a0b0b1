"""The first job: a Ray job submitted through the head's Jobs API (what `ray job submit` does) whose
tasks must run on every alive worker, read back from its logs. Run inside the head pod with its own
Python (standard library only), the same way in every arm.
"""

import base64
import json
from typing import Any

DRIVER = """
import json, ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
ray.init()
workers = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0]
@ray.remote(num_cpus=1)
def where():
    return ray.get_runtime_context().get_node_id()
pin = [NodeAffinitySchedulingStrategy(w, soft=False) for w in workers]
tasks = [where.options(scheduling_strategy=p).remote() for p in pin]
print("RAN " + json.dumps(sorted(set(ray.get(tasks)))))
"""
"""The job's entrypoint: one task pinned to each alive node that offers CPUs (the workers: the head
offers none in every arm), so a result means every worker ran a task."""

SUBMIT = """
import json, os, time, urllib.request
headers = {"Content-Type": "application/json"}
path = os.environ.get("RAY_AUTH_TOKEN_PATH")
token = open(path).read().strip() if path else os.environ.get("RAY_AUTH_TOKEN")
if token:
    headers["Authorization"] = "Bearer " + token
base = "http://127.0.0.1:8265/api/jobs/"
def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if data is None else "POST"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    return json.load(urllib.request.urlopen(request, timeout=10))
entrypoint = "python -c \\"import base64; exec(base64.b64decode('%(driver)s'))\\""
job = call(base, {"entrypoint": entrypoint})["submission_id"]
deadline = time.time() + %(timeout)d
status = "PENDING"
while time.time() < deadline and status not in ("SUCCEEDED", "FAILED", "STOPPED"):
    time.sleep(0.25)
    status = call(base + job)["status"]
logs = call(base + job + "/logs")["logs"]
print("RESULT " + json.dumps({"status": status, "logs": logs[-4000:]}))
"""


def submit_code(timeout: int = 120) -> str:
    """The code that submits the job, waits up to ``timeout`` seconds and prints its status and logs."""
    driver = base64.b64encode(DRIVER.encode()).decode()
    return SUBMIT % {"driver": driver, "timeout": timeout}


def workers_that_ran(result: Any) -> int | None:
    """How many distinct workers ran the job's tasks (None: the job did not succeed)."""
    if not isinstance(result, dict) or result.get("status") != "SUCCEEDED":
        return None
    for line in str(result.get("logs", "")).splitlines():
        if line.startswith("RAN "):
            return len(json.loads(line.removeprefix("RAN ")))
    return None

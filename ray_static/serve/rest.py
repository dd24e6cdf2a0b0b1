"""Serve's REST API on the dashboard, from inside the cluster: the one request function the deployer and
the keeper share.

Standard library only, like them: the pods run these files' source (script.py bundles them), not an
installed ray-static.
"""

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

PATH = "/api/serve/applications/"

Http = Callable[[str, str, Any], tuple[int, str]]
"""(method, path, JSON body or None) -> (HTTP status, response text); status 0 when unreachable."""


def say(message: str) -> None:
    print(f"ray-static: {message}", flush=True)


def http(method: str, path: str, body: Any = None) -> tuple[int, str]:
    """One request to the dashboard, with the cluster's token when there is one."""
    headers = {"Content-Type": "application/json"}
    token_path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if token_path:
        with open(token_path) as token_file:
            headers["Authorization"] = f"Bearer {token_file.read().strip()}"
    data = None if body is None else json.dumps(body).encode()
    url = os.environ["RAY_API_SERVER_ADDRESS"].rstrip("/") + path
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, str(error)

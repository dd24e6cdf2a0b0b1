"""A real single-node Ray cluster on this machine, with token auth, for the RayJob submitter tests.

Every port is chosen free and given explicitly (other Ray processes on the machine never collide with it),
the dashboard listens on 127.0.0.1 only, and closing it ends exactly the processes it started: its own
process group, then anything still naming its temp dir (Ray's daemons do, in their command lines).
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VENV_BIN = Path(__file__).resolve().parents[2] / "venv" / "bin"
WORKER_PORTS = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_range(size: int) -> int:
    """The first port of ``size`` consecutive ports that are free now."""
    for _ in range(50):
        base = 40000 + secrets.randbelow(20000)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + size):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {size} consecutive free ports")


@dataclass
class LocalHead:
    """A running head: its Jobs API address and the environment a client (the submitter) needs."""

    address: str
    token: str
    temp_dir: Path
    process: subprocess.Popen[bytes]

    def token_file(self, token: str) -> str:
        """A file holding ``token``, as the submitter's pod has the cluster's Secret mounted."""
        path = self.temp_dir / f"token-{abs(hash(token))}"
        path.write_text(token)
        path.chmod(0o400)
        return str(path)

    def client_env(self, token: str | None = None, **overrides: str) -> dict[str, str]:
        """The submitter container's environment (the token as a file, RAY_AUTH_TOKEN_PATH), with this
        machine's venv standing in for the image."""
        env = {
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", "/root"),
            "RAY_API_SERVER_ADDRESS": self.address,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": self.token_file(self.token if token is None else token),
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        return {**env, **overrides}

    def get(self, path: str) -> Any:
        """GET from the Jobs API with the token, parsed; None for 404."""
        request = urllib.request.Request(
            f"{self.address}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def answers(self) -> bool:
        try:
            return self.get("/api/version") is not None
        except OSError:
            return False

    def job(self, submission_id: str) -> dict[str, Any] | None:
        """The Jobs API's record of a submission (status, entrypoint, metadata, ...), None if unknown."""
        return self.get(f"/api/jobs/{submission_id}")

    def submissions(self, submission_id: str) -> int:
        """How many jobs the cluster knows under this submission id."""
        return sum(1 for j in self.get("/api/jobs/") if j.get("submission_id") == submission_id)


def _ours(temp_dir: Path) -> list[int]:
    """Pids of processes whose command line names our temp dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(temp_dir) in cmdline:
            pids.append(int(entry.name))
    return pids


def _stop(head: LocalHead) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        head.process.wait(timeout=15)
    for pid in [head.process.pid, *_ours(head.temp_dir)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def local_head(num_cpus: int = 2, timeout: float = 120) -> Iterator[LocalHead]:
    """`ray start --head --block` with token auth; yields once the Jobs API answers, stops it after."""
    temp_dir = Path(tempfile.mkdtemp(prefix="rsj", dir="/tmp"))  # short: Ray's socket paths are limited
    token = secrets.token_urlsafe(24)
    dashboard = free_port()
    workers = free_range(WORKER_PORTS)
    command = [
        str(VENV_BIN / "ray"), "start", "--head", "--block", "--disable-usage-stats",
        "--node-ip-address=127.0.0.1", f"--port={free_port()}", f"--num-cpus={num_cpus}",
        "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
        f"--ray-client-server-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}", f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}", f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}", f"--min-worker-port={workers}",
        f"--max-worker-port={workers + WORKER_PORTS - 1}", f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    env = {
        **os.environ,
        # Job drivers run `python` from the PATH Ray started with: the venv's, which has ray.
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    log = (temp_dir / "ray-start.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    head = LocalHead(f"http://127.0.0.1:{dashboard}", token, temp_dir, process)
    try:
        deadline = time.monotonic() + timeout
        while not head.answers():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start: {(temp_dir / 'ray-start.log').read_text()}")
            time.sleep(1)
        yield head
    finally:
        _stop(head)
        log.close()
        subprocess.run(["rm", "-rf", str(temp_dir)], check=False)

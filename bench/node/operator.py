"""The KubeRay operator as a process on the host, against the node's API server, like the node's other
daemons: its CRDs installed first (server-side: the RayCluster CRD alone is 0.9 MB, past the 256 KiB
annotation a client-side `kubectl apply` would write), started in a session of its own, ready when its
health endpoint answers, sampled through /proc while it runs, stopped with SIGTERM."""

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import REPO
from bench.node import kuberay, usage
from bench.node.cluster import Node

TOOLCHAIN_SH = REPO / "scripts" / "toolchain.sh"
PIECE = "kuberay-operator"


def piece_dir() -> Path:
    """The operator piece's cache directory (binary and crd/), built first if it is missing."""
    subprocess.run([str(TOOLCHAIN_SH), "build", PIECE], check=True)
    out = subprocess.run([str(TOOLCHAIN_SH), "dir", PIECE], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def install_crds(node: Node, crd_dir: Path) -> None:
    node.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd_dir))
    node.kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in kuberay.CRDS))


def uninstall_crds(node: Node) -> None:
    node.kubectl("delete", "crd", "--ignore-not-found", "--wait=true", *kuberay.CRDS)


@dataclass
class Operator:
    """A running operator process and its log."""

    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, node: Node, binary: Path, log: Path, namespaces: tuple[str, ...] = ()) -> "Operator":
        kubeconfig = node.env["KUBECONFIG"]
        if _ready():
            # Another operator (e.g. of an interrupted run) would answer for this one, which then fails
            # to bind and exits: every figure would be the other's, the idle one zero.
            raise RuntimeError(f"something already answers on {kuberay.PROBE_ADDRESS}: stop it first")
        with log.open("ab") as out:
            proc = subprocess.Popen(
                kuberay.operator_argv(binary, kubeconfig, namespaces),
                env=node.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        operator = cls(proc, log)
        operator.wait_ready()
        return operator

    def wait_ready(self, timeout: float = 60) -> float:
        """Seconds until its /readyz answers 200; raises with its log's tail if it exits or never does."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the KubeRay operator exited {self.proc.returncode}:\n{self._tail()}")
            if _ready():
                return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError(f"the KubeRay operator was not ready within {timeout:.0f} s:\n{self._tail()}")

    def sample(self) -> usage.Sample:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the KubeRay operator exited {self.proc.returncode}:\n{self._tail()}")
        return usage.sample(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)

    def _tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _ready() -> bool:
    """Whether an operator answers 200 on the probe address (ours, or one that should not be there)."""
    url = f"http://{kuberay.PROBE_ADDRESS}/readyz"
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
        return answer.status == 200
    return False


@contextlib.contextmanager
def running(node: Node, work: Path) -> Iterator[Operator]:
    """The CRDs installed and the operator running for the block; both gone after it (deleting the CRDs
    also deletes any RayCluster left behind)."""
    piece = piece_dir()
    install_crds(node, piece / "crd")
    try:
        operator = Operator.start(node, piece / PIECE, work / "kuberay-operator.log")
        try:
            yield operator
        finally:
            operator.stop()
    finally:
        uninstall_crds(node)

"""Run rendered Ray pods as local processes, each "pod" in its own network namespace.

Layout (all names start with PREFIX plus a per-run id, so runs never collide and leftovers are easy to find):

* one "node" network namespace holding a bridge at NODE_IP; it stands in for the node's network and
  the kubelet (httpGet/tcpSocket probes are sent from it, to the pod IP, as a kubelet does). It has no
  uplink: nothing a pod sends can leave this machine, and the host's own network is never touched.
* per pod: a network namespace with `eth0` on that bridge and its own IP, `/etc/netns/<ns>/hosts`
  written like the kubelet's managed hosts file (pod name -> pod IP) plus the Service FQDN -> head pod IP
  (standing in for cluster DNS + the ClusterIP, which is why Service port and targetPort must match).
* per container: `unshare` gives it its own PID, mount and UTS namespaces, like a container runtime: the
  hostname is the pod name, `/tmp` and `/home/ray` are private (the image's writable layer), `/dev/shm` is
  the pod's memory emptyDir (a tmpfs with the rendered sizeLimit) or a 64 MiB tmpfs (the runtime
  default), emptyDir volumes are shared by the pod's containers, and when the container's main process
  dies every process in it dies, so a restart starts clean. Containers run as the rendered
  runAsUser/runAsGroup via `setpriv` (no new privileges, capabilities dropped); only without a
  securityContext do they run as root.
* the image is mapped onto this machine: the image's command lookup (`ray`, `/home/ray/anaconda3/bin/*`)
  resolves to the repo's venv/bin, HOME is /home/ray, RLIMIT_NOFILE is the container runtime's 1048576.

A per-pod supervisor thread plays the kubelet: init containers in order (restarted with back-off until
they exit 0), then the main containers, restarted with the kubelet's back-off (first restart at once,
then 10 s, 20 s, ... capped at 300 s) under restartPolicy Always.

`python -m tests.ray.harness --cleanup` removes everything any run left behind.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.ray import kube

PREFIX = "rsr"
"""Every namespace, directory and mount of the harness starts with this (ray-static ray)."""
REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / "venv" / "bin"
STATE_ROOT = Path("/var/tmp")
# Private to the node namespace of each run, so runs cannot clash and nothing routes off this machine.
SUBNET = "10.213.0"
NODE_IP = f"{SUBNET}.1"
IMAGE_HOME = "/home/ray"
IMAGE_BIN_DIRS = ("/home/ray/anaconda3/bin/", "/usr/local/bin/")
NOFILE = 1048576
FIRST_BACKOFF = 10.0
MAX_BACKOFF = 300.0


def run(
    argv: Sequence[str], *, check: bool = True, timeout: float = 60, **kw: object
) -> subprocess.CompletedProcess[str]:
    """subprocess.run with text output captured and a bound on time."""
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, **kw)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def log(msg: str) -> None:
    print(f"[ray-harness {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- network


def hosts_file(pod_name: str, pod_ip: str, dns: Mapping[str, str]) -> str:
    """What the kubelet writes to /etc/hosts, plus `dns` (name -> IP) standing in for cluster DNS."""
    lines = [
        "# Kubernetes-managed hosts file (ray-static harness).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{pod_ip}\t{pod_name}" if pod_name else "",
        *(f"{ip}\t{name}" for name, ip in dns.items()),
    ]
    return "\n".join(line for line in lines if line) + "\n"


def resolv_conf(namespace: str) -> str:
    # The search path a pod gets; the only nameserver is this namespace's own loopback, where nothing
    # listens, so any name missing from the hosts file fails at once instead of leaving the machine.
    return (
        f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n"
    )


class Network:
    """The node namespace with its bridge, and one namespace per pod (or client) attached to it."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.node_ns = f"{PREFIX}{run_id}-node"
        self._next_host = 10
        self._lock = threading.Lock()
        self.namespaces: list[str] = []
        self._add_ns(self.node_ns)
        self._node("ip", "link", "add", "br0", "type", "bridge")
        self._node("ip", "addr", "add", f"{NODE_IP}/24", "dev", "br0")
        self._node("ip", "link", "set", "br0", "up")

    def _node(self, *argv: str) -> None:
        run(["ip", "netns", "exec", self.node_ns, *argv])

    def _add_ns(self, ns: str) -> None:
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])

    def allocate_ip(self) -> str:
        with self._lock:
            self._next_host += 1
            if self._next_host > 250:
                raise RuntimeError("the harness subnet is full")
            return f"{SUBNET}.{self._next_host}"

    def add(self, short: str, ip: str, hostname: str, namespace: str, dns: Mapping[str, str]) -> str:
        """A namespace `<prefix><run>-<short>` with `ip` on the bridge; returns its name."""
        ns = f"{PREFIX}{self.run_id}-{short}"
        self._add_ns(ns)
        veth = f"v{ip.rsplit('.', 1)[1]}"
        self._node("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self._node("ip", "link", "set", veth, "master", "br0", "up")
        run(["ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/24", "dev", "eth0"])
        run(["ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up"])
        etc = Path("/etc/netns") / ns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(hosts_file(hostname, ip, dns))
        (etc / "resolv.conf").write_text(resolv_conf(namespace))
        return ns

    def exec_argv(self, ns: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def from_node(self, argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command the way the kubelet reaches pods: from the node's network."""
        return run(self.exec_argv(self.node_ns, argv), check=False, timeout=timeout)

    def destroy(self) -> None:
        for ns in reversed(self.namespaces):
            remove_namespace(ns)
        self.namespaces.clear()


def namespace_pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False, timeout=20).stdout
    return [int(p) for p in out.split()]


def remove_namespace(ns: str) -> None:
    """Kill every process in `ns` (the pod sandbox going away), then delete it and its /etc/netns files."""
    for _ in range(50):
        pids = namespace_pids(ns)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


# ------------------------------------------------------------------------------------------- containers


@dataclass
class Attempt:
    started: float
    finished: float | None = None
    exit_code: int | None = None


@dataclass
class ContainerState:
    spec: kube.Container
    init: bool
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    backoff: float = 0.0
    backoff_updated: float = 0.0

    @property
    def restarts(self) -> int:
        return max(0, len(self.attempts) - 1)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def map_image_command(argv: Sequence[str]) -> list[str]:
    """The image's command lookup on this machine: Ray's entry points come from the repo's venv."""
    first = argv[0]
    for prefix in IMAGE_BIN_DIRS:
        if first.startswith(prefix) and (VENV_BIN / first[len(prefix) :]).exists():
            return [str(VENV_BIN / first[len(prefix) :]), *argv[1:]]
    return list(argv)


def image_env(hostname: str) -> dict[str, str]:
    """The image's ENV, mapped: PATH finds the venv's `ray` and `python` first, as the image's does."""
    return {
        "PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": IMAGE_HOME,
        "HOSTNAME": hostname,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


class PodRuntime:
    """One pod: its namespace, volumes and containers, supervised like the kubelet would."""

    def __init__(self, network: Network, pod: kube.Pod, ns: str, root: Path) -> None:
        self.network = network
        self.pod = pod
        self.ns = ns
        self.ip = pod.context.ip
        self.name = pod.context.name
        self.root = root
        self.hold_restarts = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.events: list[tuple[float, str]] = []
        self.volume_dirs: dict[str, Path] = {}
        for vol in pod.volumes.values():
            path = root / "volumes" / vol.name
            path.mkdir(parents=True)
            if vol.kind == "secret":
                # As the kubelet projects a Secret: root-owned files, group = the pod's fsGroup.
                for rel, content in vol.files.items():
                    target = path / rel
                    target.write_text(content)
                    os.chown(target, 0, pod.fs_group or 0)
                    target.chmod(vol.mode)
                path.chmod(0o755)
            elif vol.medium == "Memory":
                size = f",size={vol.size_limit}" if vol.size_limit else ""
                run(["mount", "-t", "tmpfs", "-o", f"mode=1777{size}", f"{PREFIX}-emptydir", str(path)])
            else:
                path.chmod(0o777)
            self.volume_dirs[vol.name] = path
        self.containers: dict[str, ContainerState] = {}
        for spec, init in [(c, True) for c in pod.init_containers] + [(c, False) for c in pod.containers]:
            env = {**image_env(self.name), **spec.env}
            self.containers[spec.name] = ContainerState(spec, init, root / f"{spec.name}.log", env)

    # -- lifecycle

    def start(self) -> None:
        self.event("pod started")
        self._thread = threading.Thread(target=self._supervise, name=f"kubelet-{self.name}", daemon=True)
        self._thread.start()

    def event(self, what: str) -> None:
        with self._lock:
            self.events.append((time.monotonic(), what))

    def _supervise(self) -> None:
        try:
            for c in self.containers.values():
                if not c.init:
                    continue
                while not self._stop.is_set():
                    code = self._start(c).wait()
                    self._finished(c, code)
                    if code == 0 or self._stop.is_set():
                        break
                    if self.pod.restart_policy == "Never":
                        self.event(f"init container {c.spec.name} failed; pod failed")
                        return
                    self._wait_backoff(c)
            if self._stop.is_set():
                return
            for c in self.containers.values():
                if not c.init:
                    self._start(c)
            while not self._stop.wait(0.2):
                for c in self.containers.values():
                    if c.init or c.proc is None:
                        continue
                    if c.attempts[-1].finished is None:
                        code = c.proc.poll()
                        if code is None:
                            continue
                        self._finished(c, code)
                    self._maybe_restart(c)
        except Exception as exc:  # a supervisor crash must show up in the test, not vanish in a thread
            self.event(f"supervisor error: {exc!r}")
            raise

    def _maybe_restart(self, c: ContainerState) -> None:
        last = c.attempts[-1]
        assert last.finished is not None and last.exit_code is not None
        policy = self.pod.restart_policy
        if (
            policy == "Never"
            or (policy == "OnFailure" and last.exit_code == 0)
            or self.hold_restarts.is_set()
        ):
            return
        now = time.monotonic()
        if c.backoff and now - last.finished < c.backoff:
            return  # CrashLoopBackOff
        # kubelet's flowcontrol.Backoff.Next: start (or restart after a long quiet spell) at the initial
        # delay, otherwise double, capped.
        if not c.backoff or now - c.backoff_updated > MAX_BACKOFF:
            c.backoff = FIRST_BACKOFF
        else:
            c.backoff = min(c.backoff * 2, MAX_BACKOFF)
        c.backoff_updated = now
        self.event(f"restarting {c.spec.name} (restart {c.restarts + 1})")
        self._start(c)

    def _wait_backoff(self, c: ContainerState) -> None:
        now = time.monotonic()
        if not c.backoff or now - c.backoff_updated > MAX_BACKOFF:
            c.backoff = FIRST_BACKOFF
            delay = 0.0
        else:
            delay, c.backoff = c.backoff, min(c.backoff * 2, MAX_BACKOFF)
        c.backoff_updated = now
        self._stop.wait(delay)

    def _finished(self, c: ContainerState, code: int) -> None:
        c.attempts[-1].finished = time.monotonic()
        c.attempts[-1].exit_code = code
        self.event(f"container {c.spec.name} exited {code}")

    def _setup_script(self, c: ContainerState) -> str:
        spec = c.spec
        uid = spec.run_as_user
        gid = spec.run_as_group if spec.run_as_group is not None else 0
        tmp = self.root / spec.name / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o1777)
        q = shlex.quote
        keep = self._host_paths(bool(uid))
        lines = [
            "set -eu",
            f"hostname {q(self.name)}",
            # The container runtime's open-files limit, where this machine lets us raise it.
            f"ulimit -Hn {NOFILE} 2>/dev/null && ulimit -Sn {NOFILE} || true",
            # Set aside what the container must still see before /tmp and /home are covered below.
            *(
                f"mkdir -p {q(str(stage))} && mount --bind {q(str(path))} {q(str(stage))}"
                for path, stage in keep
            ),
            f"mount --bind {q(str(tmp))} /tmp",
            "mount -t tmpfs -o mode=0755,size=64m image-home /home",
            f"mkdir -p {IMAGE_HOME}",
            f"chown {uid or 0}:{gid} {IMAGE_HOME}",
            *self._restore_host_paths(keep, bool(uid)),
        ]
        if not any(m.path == "/dev/shm" for m in spec.mounts):
            lines.append("mount -t tmpfs -o mode=1777,size=64m shm /dev/shm")
        for m in spec.mounts:
            src = self.volume_dirs[m.volume] / m.sub_path if m.sub_path else self.volume_dirs[m.volume]
            src.mkdir(parents=True, exist_ok=True)
            lines.append(f"mkdir -p {q(m.path)} 2>/dev/null || test -d {q(m.path)}")
            lines.append(f"mount --bind {q(str(src))} {q(m.path)}")
            if m.read_only:
                lines.append(f"mount -o remount,bind,ro {q(m.path)}")
        lines.append(f"cd {q(spec.working_dir or IMAGE_HOME)}")
        lines.append(f'exec {shlex.join(self._privileges(spec))} "$@"')
        return "\n".join(lines)

    def _host_paths(self, non_root: bool) -> list[tuple[Path, Path]]:
        """Host directories the container's processes need, each with a staging mount point.

        Ray runs from the venv (and its base interpreter), standing in for the image's own Python. Wherever
        the checkout lives (under /tmp or /home, which the container covers, or under a directory only root
        can enter, such as /root), these must stay reachable inside the container, so they are set aside
        before the covers go on and mounted back at the same paths afterwards (scripts keep their shebangs).
        """
        wanted = [VENV_BIN.parent.resolve(), Path(sys.base_prefix).resolve()]
        needed = [p for p in dict.fromkeys(wanted) if _covered(p) or (non_root and _blocked_ancestors(p))]
        return [(path, self.root / f"keep-{i}") for i, path in enumerate(needed)]

    def _restore_host_paths(self, keep: list[tuple[Path, Path]], non_root: bool) -> list[str]:
        """Mount the set-aside directories back; ancestors a non-root user cannot enter get a 0755 tmpfs.

        The host's own permissions stay untouched: all of this happens in the container's mount namespace.
        """
        q = shlex.quote
        lines: list[str] = []
        if non_root:
            blocked = {a for path, _ in keep for a in _blocked_ancestors(path)}
            # Cover only the outermost blocked directories; what lies below is recreated by mkdir -p.
            for ancestor in sorted(b for b in blocked if not any(o in b.parents for o in blocked)):
                lines.append(f"mount -t tmpfs -o mode=0755,size=1m image-root {q(str(ancestor))}")
        for path, stage in keep:
            lines += [f"mkdir -p {q(str(path))}", f"mount --move {q(str(stage))} {q(str(path))}"]
        return lines

    def _privileges(self, spec: kube.Container) -> list[str]:
        """`setpriv` for the rendered securityContext; nothing when the container runs as root."""
        if not spec.run_as_user:
            return []
        groups = sorted({*self.pod.supplemental_groups, *([self.pod.fs_group] if self.pod.fs_group else [])})
        argv = [
            "setpriv",
            f"--reuid={spec.run_as_user}",
            f"--regid={spec.run_as_group if spec.run_as_group is not None else 0}",
            f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ]
        if not spec.allow_privilege_escalation:
            argv.append("--no-new-privs")
        return [*argv, "--"]

    def _start(self, c: ContainerState) -> subprocess.Popen[bytes]:
        argv = [
            "ip", "netns", "exec", self.ns,
            "unshare", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
            "--", "/bin/bash", "-c", self._setup_script(c), f"container-{c.spec.name}",
            *map_image_command(c.spec.argv),
        ]  # fmt: skip
        with c.log_path.open("ab") as out:
            out.write(f"\n===== {time.strftime('%H:%M:%S')} start #{len(c.attempts) + 1}\n".encode())
            out.flush()
            c.proc = subprocess.Popen(
                argv,
                env=c.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        c.attempts.append(Attempt(started=time.monotonic()))
        self.event(f"container {c.spec.name} started")
        return c.proc

    def stop(self) -> None:
        self._stop.set()
        for c in self.containers.values():
            if c.proc is not None and c.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(c.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    c.proc.wait(10)
        if self._thread is not None:
            self._thread.join(10)
        remove_namespace(self.ns)
        for path in self.volume_dirs.values():
            run(["umount", "-l", str(path)], check=False)

    # -- introspection and actions

    def container(self, name: str | None = None) -> ContainerState:
        """The named container, or the pod's (first) main container."""
        if name is None:
            return next(c for c in self.containers.values() if not c.init)
        return self.containers[name]

    def main_pid(self, name: str | None = None) -> int:
        """Host PID of the container's PID 1 (the rendered command)."""
        c = self.container(name)
        if not c.running or c.proc is None:
            raise RuntimeError(f"{self.name}/{c.spec.name} is not running")
        for _ in range(100):
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{c.proc.pid}/task/{c.proc.pid}/children").read_text().split()
                if children:
                    return int(children[0])
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}/{c.spec.name}: no process inside the container")

    def host_path(self, path: str, name: str | None = None) -> Path:
        """Where a path under the container's /tmp lives on this machine (symlinks resolved as the
        container would see them): the volume mounted there, else the container's private /tmp."""
        spec = self.container(name).spec
        mounted = next((m for m in spec.mounts if m.path == "/tmp"), None)
        base = self.volume_dirs[mounted.volume] if mounted else self.root / spec.name / "tmp"
        rel = Path(path).relative_to("/tmp")
        current = base
        for part in rel.parts:
            current = current / part
            if current.is_symlink():
                target = Path(os.readlink(current))
                current = (
                    base / target.relative_to("/tmp") if target.is_absolute() else current.parent / target
                )
        return current

    def credentials(self, name: str | None = None) -> tuple[int, int]:
        """(uid, gid) the container's main process runs as."""
        status = Path(f"/proc/{self.main_pid(name)}/status").read_text().splitlines()
        fields = {line.split(":")[0]: line.split()[1] for line in status if line.startswith(("Uid:", "Gid:"))}
        return int(fields["Uid"]), int(fields["Gid"])

    def processes(self, name: str | None = None) -> list[str]:
        """Command lines of every process in the container (its PID 1 and all descendants)."""
        todo, found = [self.main_pid(name)], []
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError):
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return found

    def kill(self, name: str | None = None, sig: int = signal.SIGKILL) -> None:
        """Signal the container's main process (SIGKILL: it and everything in the container die)."""
        pid = self.main_pid(name)
        self.event(f"harness sends signal {sig} to {self.container(name).spec.name}")
        os.kill(pid, sig)

    def exec(
        self, argv: Sequence[str], name: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """`kubectl exec`: run argv inside the container (its namespaces, user and env)."""
        c = self.container(name)
        wrapped = [
            # -w: the container's working directory, as the runtime's exec uses.
            "nsenter", "-t", str(self.main_pid(name)), "-m", "-u", "-p", "-n", "-w",
            *self._privileges(c.spec), *map_image_command(argv),
        ]  # fmt: skip
        return run(wrapped, check=False, timeout=timeout, env=c.env)

    def probe(self, kind: str, name: str | None = None) -> tuple[bool, str]:
        """Run the container's `kind` probe once, as the kubelet would; (success, detail)."""
        c = self.container(name)
        probe = c.spec.probes[kind]
        action = probe.action
        if probe.kind == "httpGet":
            port = self._port(c, action["port"])
            host = action.get("host") or self.ip
            url = f"{action.get('scheme', 'HTTP').lower()}://{host}:{port}{action.get('path', '/')}"
            headers = [
                x for h in action.get("httpHeaders") or [] for x in ("-H", f"{h['name']}: {h['value']}")
            ]
            argv = ["curl", "-ks", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(probe.timeout)]
            result = self.network.from_node(
                [*argv, *headers, "-A", "kube-probe/1.31", url], timeout=probe.timeout + 10
            )
            code = int(result.stdout.strip() or 0)
            return 200 <= code < 400, f"GET {url} -> {code or result.stderr.strip() or 'no answer'}"
        if probe.kind == "tcpSocket":
            port = self._port(c, action["port"])
            host = action.get("host") or self.ip
            script = f"exec 3<>/dev/tcp/{host}/{port}"
            result = self.network.from_node(["timeout", str(probe.timeout), "bash", "-c", script])
            return result.returncode == 0, f"tcp {host}:{port} -> {result.returncode}"
        if probe.kind == "exec":
            try:
                result = self.exec(action["command"], name, timeout=probe.timeout + 5)
            except subprocess.TimeoutExpired:
                return False, "exec timed out"
            except RuntimeError as exc:
                return False, str(exc)
            return (
                result.returncode == 0,
                f"exec -> {result.returncode}: {(result.stdout + result.stderr)[-300:]}",
            )
        raise NotImplementedError(f"{probe.kind} probes are not emulated")

    @staticmethod
    def _port(c: ContainerState, port: int | str) -> int:
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        return c.spec.ports[str(port)]

    def listening(self) -> list[tuple[str, int, str]]:
        """(address, port, `ss` users) of every TCP listener in the pod's network namespace (IPv4-mapped
        addresses given as IPv4)."""
        out = run(["ip", "netns", "exec", self.ns, "ss", "-Hltnp"]).stdout
        sockets = []
        for line in out.splitlines():
            parts = line.split()
            addr, _, port = parts[3].rpartition(":")
            users = parts[5] if len(parts) > 5 else ""
            sockets.append((addr.strip("[]").removeprefix("::ffff:"), int(port), users))
        return sockets

    def describe(self, tail: int = 40) -> str:
        """Events and the last lines of every container's log, for failure messages."""
        lines = [f"--- pod {self.name} ({self.ip})"]
        t0 = self.events[0][0] if self.events else 0.0
        lines += [f"  +{t - t0:6.1f}s {what}" for t, what in self.events]
        for c in self.containers.values():
            lines.append(f"  [{c.spec.name}] restarts={c.restarts} running={c.running}")
            lines += [f"    | {x}" for x in c.logs().splitlines()[-tail:]]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- the harness


class Harness:
    """One run: a node network, pods and a client namespace; `close()` removes all of it."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise PermissionError("the Ray harness needs root (network namespaces, mounts)")
        sweep(stale_only=True)
        self.run_id = secrets.token_hex(2)
        self.root = STATE_ROOT / f"{PREFIX}{self.run_id}"
        self.root.mkdir(mode=0o755)
        (self.root / "owner").write_text(str(os.getpid()))
        self.pods: list[PodRuntime] = []
        self.dns: dict[str, str] = {}
        self._closed = False
        atexit.register(self.close)
        try:
            self.network = Network(self.run_id)
        except BaseException:
            self.close()
            raise
        log(f"run {self.run_id}: node namespace {self.network.node_ns}, state {self.root}")

    def add_pod(
        self, short: str, template: Mapping[str, object], ctx: kube.PodContext, objects: kube.Objects
    ) -> PodRuntime:
        """Create the pod's sandbox (namespace, IP, hosts, volumes); `start()` runs its containers."""
        pod = kube.pod(template, ctx, objects)
        ns = self.network.add(short, ctx.ip, ctx.name, ctx.namespace, self.dns)
        runtime = PodRuntime(self.network, pod, ns, self.root / "pods" / short)
        self.pods.append(runtime)
        return runtime

    def add_client(self, short: str = "client", namespace: str = "default") -> Client:
        ip = self.network.allocate_ip()
        ns = self.network.add(short, ip, f"{short}-pod", namespace, self.dns)
        home = self.root / short
        home.mkdir(parents=True)
        return Client(ns, ip, home)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pod in self.pods:
            with contextlib.suppress(Exception):
                pod.stop()
        if hasattr(self, "network"):
            self.network.destroy()
        if os.environ.get("RAY_HARNESS_KEEP"):
            # Debugging: keep logs and /tmp/ray of every container (processes and namespaces still go).
            for mount in sorted(_mounts_under(self.root), key=len, reverse=True):
                run(["umount", "-l", mount], check=False)
            (self.root / "owner").unlink(missing_ok=True)
            log(f"kept {self.root} (RAY_HARNESS_KEEP); `python -m tests.ray.harness --cleanup` removes it")
        else:
            _remove_state_dir(self.root)
        atexit.unregister(self.close)


@dataclass
class Client:
    """A pod-like namespace for clients (ray client, `ray job submit`, curl): reaches the head by name."""

    ns: str
    ip: str
    home: Path

    def run(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(REPO),
            **(env or {}),
        }
        return run(
            ["ip", "netns", "exec", self.ns, *argv], check=False, timeout=timeout, env=full_env, cwd=self.home
        )

    def python(
        self, code: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return self.run([str(VENV_BIN / "python"), "-c", code], env, timeout)

    def http(
        self, url: str, headers: Mapping[str, str] | None = None, timeout: float = 20
    ) -> tuple[int, str]:
        argv = ["curl", "-s", "--max-time", str(timeout), "-w", "\n%{http_code}"]
        for k, v in (headers or {}).items():
            argv += ["-H", f"{k}: {v}"]
        result = self.run([*argv, url], timeout=timeout + 10)
        body, _, code = result.stdout.rpartition("\n")
        return int(code or 0), body


# ------------------------------------------------------------------------------------------- clean-up


def _remove_state_dir(root: Path) -> None:
    for mount in sorted(_mounts_under(root), key=len, reverse=True):
        run(["umount", "-l", mount], check=False)
    shutil.rmtree(root, ignore_errors=True)


def _mounts_under(root: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mountpoint = line.split()[4]
        if mountpoint == str(root) or mountpoint.startswith(f"{root}/"):
            found.append(mountpoint)
    return found


def _owner_alive(root: Path) -> bool:
    try:
        pid = int((root / "owner").read_text())
    except (OSError, ValueError):
        return False
    return Path(f"/proc/{pid}").exists()


def sweep(stale_only: bool = False) -> list[str]:
    """Remove namespaces, /etc/netns entries, mounts and state dirs of harness runs.

    With `stale_only`, only runs whose owning process is gone (safe while another run is in progress).
    """
    removed: list[str] = []
    runs = {p.name[len(PREFIX) :]: p for p in STATE_ROOT.glob(f"{PREFIX}*") if p.is_dir()}
    live = {rid for rid, p in runs.items() if _owner_alive(p)} if stale_only else set()
    listing = run(["ip", "netns", "list"], check=False).stdout.split("\n")
    namespaces = [line.split()[0] for line in listing if line.startswith(PREFIX)]
    netns_etc = [p.name for p in Path("/etc/netns").glob(f"{PREFIX}*")] if Path("/etc/netns").exists() else []
    for ns in sorted(set(namespaces) | set(netns_etc)):
        rid = ns[len(PREFIX) :].split("-", 1)[0]
        if rid in live:
            continue
        remove_namespace(ns)
        removed.append(f"netns {ns}")
    for rid, path in runs.items():
        if rid not in live:
            _remove_state_dir(path)
            removed.append(f"dir {path}")
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ray.harness", description="Ray pod harness")
    parser.add_argument(
        "--cleanup", action="store_true", help="remove everything any harness run left behind"
    )
    parser.add_argument(
        "--stale-only", action="store_true", help="with --cleanup: spare runs still in progress"
    )
    args = parser.parse_args(argv)
    if not args.cleanup:
        parser.print_help()
        return 2
    removed = sweep(stale_only=args.stale_only)
    print(json.dumps(removed, indent=1) if removed else "nothing to clean up")
    return 0


@contextlib.contextmanager
def harness() -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        h.close()


if __name__ == "__main__":
    sys.exit(main())


def _covered(path: Path) -> bool:
    """Whether the container's own /tmp or /home hides this host path."""
    return any(path == Path(top) or Path(top) in path.parents for top in ("/tmp", "/home"))


def _blocked_ancestors(path: Path) -> list[Path]:
    """Ancestors of `path` (not `/`) that users other than root cannot enter (no o+x), e.g. /root.

    Those under the container's own /tmp or /home do not count: mkdir -p recreates them there, enterable.
    """
    return [a for a in path.parents if a != Path("/") and not _covered(a) and not a.stat().st_mode & 0o001]

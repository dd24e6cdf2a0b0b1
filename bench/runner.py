"""The scenarios of issue 6, each measured against its baseline in the same run, alternating the two."""

import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.engine import Engine, Program, Timed, median_phases, median_steps
from bench.procs import Finished, Processes, ProcessWatch
from bench.results import Results, Row, slope, spread
from tests.e2e.support import toolchain_env
from tests.support.versions import pinned_versions

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "programs"
SOURCE_FILES = ("Pulumi.yaml", "__main__.py", "ray_static")
PLACEHOLDER_NS = "benchnsplaceholder"
SCENARIOS = {
    1: "Create",
    2: "Our own overhead",
    3: "Steady state",
    4: "Scale",
    5: "Large",
    6: "Composition",
    7: "Program evaluation under mocks",
}
# Default (and worker) pod sizes: a fake node (scripts/cluster.sh) offers 128 CPUs.
NODE_CPUS = 128


@dataclass
class Options:
    scenarios: list[int]
    runs: int
    large_workers: int
    compose_sizes: list[int]
    ref: str | None
    workdir: Path
    timeout: float
    log: Callable[[str], None]
    nodes: int = 0
    results: Results = field(default_factory=Results)


def _log_stderr(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Bench:
    """One run: a source snapshot, a local control plane, the programs, and the results."""

    def __init__(self, opts: Options, procs: Processes, env: dict[str, str], kubeconfig: Path) -> None:
        self.opts = opts
        self.procs = procs
        self.log = opts.log
        self.results = opts.results
        self.work = opts.workdir
        self.kenv = {**env, "KUBECONFIG": str(kubeconfig)}
        self.engine = Engine(procs, self.kenv, self.work, opts.timeout)
        self.src = self.work / "src"
        self.python = str(REPO / "venv" / "bin" / "python")
        self._programs: dict[str, Program] = {}
        self._manifests: dict[str, str] = {}

    # --- helpers ------------------------------------------------------------------------------------

    def kubectl(self, *args: str, timeout: float | None = None, check: bool = True) -> Finished:
        return self.procs.run(
            ["kubectl", *args],
            env=self.kenv,
            timeout=timeout or self.opts.timeout,
            check=check,
            log_path=self.work / "logs" / "kubectl.log",
            reap=False,
        )

    def delete_namespace(self, namespace: str) -> None:
        self.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=600s")

    def worker(self, *args: str) -> Any:
        result = self.work / "worker-result.json"
        self.procs.run(
            [self.python, "-m", "bench.worker", "--src", str(self.src), "--result", str(result), *args],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            log_path=self.work / "logs" / "worker.log",
            timeout=self.opts.timeout,
        )
        return json.loads(result.read_text())

    def program(self, name: str, template: Path | None = None, with_source: bool = True) -> Program:
        """A project directory under the workdir: a template's files plus (optionally) the component."""
        if name in self._programs:
            return self._programs[name]
        path = self.work / "programs" / name
        path.mkdir(parents=True)
        if template is not None:
            for item in template.iterdir():
                if item.name != "__pycache__":
                    shutil.copy2(item, path / item.name)
        if with_source:
            for item in SOURCE_FILES:
                src = self.src / item
                if item == "ray_static":
                    shutil.copytree(src, path / item, ignore=shutil.ignore_patterns("__pycache__"))
                elif template is None:
                    shutil.copy2(src, path / item)
        (path / "venv").symlink_to(REPO / "venv")
        program = Program(name, path)
        self._programs[name] = program
        return program

    def plain_program(self, name: str, args: Mapping[str, Any], clusters: int = 1) -> tuple[Program, str]:
        """The generated plain pulumi_kubernetes program for these args, and the manifests (JSON text)."""
        if name in self._programs:
            return self._programs[name], self._manifests[name]
        path = self.work / "programs" / name
        path.mkdir(parents=True)
        (path / "Pulumi.yaml").write_text(
            f"name: bench-{name}\nruntime:\n  name: python\n  options:\n"
            "    toolchain: pip\n    virtualenv: venv\n"
        )
        (path / "venv").symlink_to(REPO / "venv")
        rendered = self.worker(
            "plain",
            "--clusters",
            str(clusters),
            "--args",
            json.dumps(dict(args)),
            "--out",
            str(path / "template.py"),
        )
        shutil.copy2(path / "template.py", path / "__main__.py")
        program = Program(name, path)
        self._programs[name] = program
        manifests = json.dumps({"apiVersion": "v1", "kind": "List", "items": rendered["objects"]})
        self._manifests[name] = manifests
        return program, manifests

    @staticmethod
    def retarget(program: Program, namespace: str) -> None:
        """Points a generated plain program at `namespace` (checked equivalent by the worker)."""
        text = (program.path / "template.py").read_text().replace(PLACEHOLDER_NS, namespace)
        (program.path / "__main__.py").write_text(text)

    def kubectl_json(self, *args: str) -> Any:
        out = self.kubectl(*args, "-o", "json").output
        return json.loads(out[out.index("{") :])

    def check_ready(self, key: str, namespace: str) -> None:
        """Records whether the command just timed returned with every Deployment's pods Ready."""
        items = self.kubectl_json("get", "deployments", "-n", namespace)["items"]
        ok = bool(items) and all(
            d.get("status", {}).get("readyReplicas", 0) == d["spec"].get("replicas", 1)
            and d.get("status", {}).get("updatedReplicas", 0) == d["spec"].get("replicas", 1)
            for d in items
        )
        done, total = self.results.readiness.get(key, [0, 0])
        self.results.readiness[key] = [done + int(ok), total + 1]

    def write_manifests(self, manifests: str, namespace: str, name: str) -> Path:
        path = self.work / "manifests" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(manifests.replace(PLACEHOLDER_NS, namespace))
        return path

    def kubectl_create(self, manifests: Path, namespace: str, deployments: list[str]) -> float:
        """`kubectl apply -f` plus `kubectl rollout status` on the Deployments: wall seconds of both."""
        start = time.perf_counter()
        self.kubectl("apply", "-f", str(manifests))
        self.kubectl(
            "rollout", "status", "-n", namespace, *(f"deployment/{d}" for d in deployments), "--timeout=600s"
        )
        return time.perf_counter() - start

    def up(self, program: Program, stack: str) -> Timed:
        return self.engine.timed(program, stack, "up")

    def rounds(self) -> range:
        return range(self.opts.runs)

    @staticmethod
    def alternate(r: int, arms: list[Callable[[], None]]) -> None:
        """Runs the arms of round `r`, starting one further each round (no arm always goes first)."""
        k = r % len(arms)
        for arm in arms[k:] + arms[:k]:
            arm()

    def add(self, row: Row) -> None:
        self.results.rows.append(row)
        med, bmed = spread(row.ours)[0], spread(row.baseline)[0]
        self.log(f"  {row.label}: {med:.2f} {row.unit} vs {bmed:.2f} {row.unit} -> ratio {row.ratio:.2f}")

    def breakdown(self, key: str, runs: list[Timed], memory: bool = False) -> None:
        """Median phases and steps of `runs` (and, if asked, the peak memory of their processes)."""
        if not runs:
            return
        self.results.breakdowns[key] = median_phases(runs)
        self.results.steps[key] = {k: [s, d] for k, (s, d) in median_steps(runs).items()}
        if memory:
            kinds = sorted({k for t in runs for k in t.memory_mib})
            self.results.memory[key] = {
                k: [t.memory_mib[k] for t in runs if k in t.memory_mib] for k in kinds
            }

    # --- setup --------------------------------------------------------------------------------------

    # --- scenarios ----------------------------------------------------------------------------------

    def scenario_create(self, with_kubectl: bool, with_plain: bool) -> None:
        """1 and 2: `pulumi up` on a fresh stack until Ready, vs kubectl apply + rollout, vs plain Pulumi."""
        ours_prog = self.program("ours")
        plain_prog, manifests = self.plain_program("plain", {"namespace": PLACEHOLDER_NS})
        ours: list[float] = []
        kube: list[float] = []
        plain: list[float] = []
        ours_runs: list[Timed] = []
        plain_runs: list[Timed] = []

        def run_ours(r: int) -> None:
            ns, stack = f"create-ours-{r}", f"create-{r}"
            self.engine.init(ours_prog, stack, {"namespace": ns})
            t = self.up(ours_prog, stack)
            self.check_ready("create/ours", ns)
            ours.append(t.seconds)
            ours_runs.append(t)
            self.delete_namespace(ns)
            self.engine.remove(ours_prog, stack)

        def run_kubectl(r: int) -> None:
            ns = f"create-kubectl-{r}"
            path = self.write_manifests(manifests, ns, f"create-{r}")
            kube.append(self.kubectl_create(path, ns, ["ray-head", "ray-worker"]))
            self.check_ready("create/kubectl", ns)
            self.delete_namespace(ns)

        def run_plain(r: int) -> None:
            ns, stack = f"create-plain-{r}", f"create-{r}"
            self.retarget(plain_prog, ns)
            self.engine.init(plain_prog, stack)
            t = self.up(plain_prog, stack)
            self.check_ready("create/plain", ns)
            plain.append(t.seconds)
            plain_runs.append(t)
            self.delete_namespace(ns)
            self.engine.remove(plain_prog, stack)

        for r in self.rounds():
            arms = [lambda r=r: run_ours(r)]
            if with_kubectl:
                arms.append(lambda r=r: run_kubectl(r))
            if with_plain:
                arms.append(lambda r=r: run_plain(r))
            self.alternate(r, arms)
            self.log(
                f"create round {r + 1}: ours {ours[-1]:.1f}s"
                + (f", kubectl {kube[-1]:.1f}s" if kube else "")
                + (f", plain {plain[-1]:.1f}s" if plain else "")
            )
        if with_kubectl:
            self.add(
                Row(
                    "1. Create",
                    "create/kubectl",
                    "`pulumi up` on a fresh stack until Ready (default cluster: 7 objects + generated token)",
                    "`kubectl apply -f` of the same objects + `kubectl rollout status` on both Deployments",
                    ours,
                    kube,
                )
            )
        if with_plain:
            self.add(
                Row(
                    "2. Our own overhead",
                    "create/plain",
                    "`pulumi up`, default cluster (component, validation, generated token)",
                    "plain pulumi_kubernetes program, the same 7 objects (token a literal secret)",
                    ours,
                    plain,
                )
            )
            self.breakdown("plain: create", plain_runs, memory=True)
        self.breakdown("ours: create", ours_runs, memory=True)

    def scenario_four_objects(self) -> None:
        """2, as the issue words it: the guide's four objects (auth, NetworkPolicy, ServiceAccount off)."""
        config = {"auth": "false", "networkPolicy": "false", "serviceAccount": "default"}
        args = {
            "auth": False,
            "network_policy": False,
            "service_account": "default",
            "namespace": PLACEHOLDER_NS,
        }
        ours_prog = self.program("ours")
        plain_prog, _ = self.plain_program("plain4", args)
        ours: list[float] = []
        plain: list[float] = []
        ours_runs: list[Timed] = []

        def run_ours(r: int) -> None:
            ns, stack = f"four-ours-{r}", f"four-{r}"
            self.engine.init(ours_prog, stack, {**config, "namespace": ns})
            t = self.up(ours_prog, stack)
            self.check_ready("four/ours", ns)
            ours.append(t.seconds)
            ours_runs.append(t)
            self.delete_namespace(ns)
            self.engine.remove(ours_prog, stack)

        def run_plain(r: int) -> None:
            ns, stack = f"four-plain-{r}", f"four-{r}"
            self.retarget(plain_prog, ns)
            self.engine.init(plain_prog, stack)
            plain.append(self.up(plain_prog, stack).seconds)
            self.check_ready("four/plain", ns)
            self.delete_namespace(ns)
            self.engine.remove(plain_prog, stack)

        for r in self.rounds():
            self.alternate(r, [lambda r=r: run_ours(r), lambda r=r: run_plain(r)])
            self.log(f"four-objects round {r + 1}: ours {ours[-1]:.1f}s, plain {plain[-1]:.1f}s")
        self.add(
            Row(
                "2. Our own overhead",
                "create4/plain",
                "`pulumi up`, the guide's four objects (Namespace, Service, 2 Deployments)",
                "plain pulumi_kubernetes program, the same 4 objects",
                ours,
                plain,
            )
        )
        self.breakdown("ours (4 objects): create", ours_runs)

    def deploy_steady(self) -> tuple[Program, Program, Program]:
        """Stacks `steady` of ours, the plain program and the empty program, deployed once (untimed)."""
        ours = self.program("ours")
        if "steady" not in self.results.meta.setdefault("deployed", []):
            self.engine.init(ours, "steady", {"namespace": "steady"})
            self.engine.timed(ours, "steady", "up")
            self.results.meta["deployed"].append("steady")
        plain = self._programs.get("plain-steady")
        if plain is None:
            plain, _ = self.plain_program("plain-steady", {"namespace": PLACEHOLDER_NS})
            self.retarget(plain, "steady-plain")
            self.engine.init(plain, "steady")
            self.engine.timed(plain, "steady", "up")
        empty = self._programs.get("empty")
        if empty is None:
            empty = self.program("empty", PROGRAMS / "empty", with_source=False)
            self.engine.init(empty, "steady")
            self.engine.timed(empty, "steady", "up")
        return ours, plain, empty

    def scenario_steady(self) -> None:
        """3: no-op `pulumi up` and `pulumi preview` vs the same on the empty program (and the plain one)."""
        ours, plain, empty = self.deploy_steady()
        data: dict[str, list[Timed]] = {
            f"{p}/{c}": [] for p in ("ours", "plain", "empty") for c in ("preview", "up")
        }
        progs = {"ours": ours, "plain": plain, "empty": empty}

        def arm(p: str, c: str) -> Callable[[], None]:
            return lambda: data[f"{p}/{c}"].append(self.engine.timed(progs[p], "steady", c))

        for r in self.rounds():
            for c in ("preview", "up"):
                self.alternate(r, [arm("ours", c), arm("empty", c), arm("plain", c)])
            self.log(
                f"steady round {r + 1}: preview ours {data['ours/preview'][-1].seconds:.1f}s"
                f" empty {data['empty/preview'][-1].seconds:.1f}s; up ours {data['ours/up'][-1].seconds:.1f}s"
                f" empty {data['empty/up'][-1].seconds:.1f}s"
            )
        secs = {k: [t.seconds for t in v] for k, v in data.items()}
        for c in ("preview", "up"):
            self.add(
                Row(
                    "3. Steady state",
                    f"noop-{c}/empty",
                    f"no-op `pulumi {c}` (default cluster deployed)",
                    f"`pulumi {c}` of an empty Python program",
                    secs[f"ours/{c}"],
                    secs[f"empty/{c}"],
                )
            )
            self.add(
                Row(
                    "3. Steady state",
                    f"noop-{c}/plain",
                    f"no-op `pulumi {c}` (default cluster deployed)",
                    f"no-op `pulumi {c}` of the plain program (same 7 objects deployed)",
                    secs[f"ours/{c}"],
                    secs[f"plain/{c}"],
                )
            )
            for p in ("ours", "plain", "empty"):
                self.breakdown(f"{p}: no-op {c}", data[f"{p}/{c}"])

    def scenario_scale(self) -> None:
        """4: `pulumi config set workers N+1` + `pulumi up` vs `kubectl scale` + rollout status."""
        ours, _, _ = self.deploy_steady()
        ns_k = "steady-kubectl"
        _, manifests = self.plain_program("plain", {"namespace": PLACEHOLDER_NS})
        path = self.write_manifests(manifests, ns_k, "steady-kubectl")
        self.kubectl_create(path, ns_k, ["ray-head", "ray-worker"])
        state = {"ours": 3, "kubectl": 3}
        ours_t: list[float] = []
        kube_t: list[float] = []
        ours_runs: list[Timed] = []

        def run_ours() -> None:
            state["ours"] += 1
            start = time.perf_counter()
            self.engine.set_config(ours, "steady", {"workers": str(state["ours"])})
            t = self.up(ours, "steady")
            ours_t.append(time.perf_counter() - start)
            ours_runs.append(t)
            self.check_ready("scale/ours", "steady")

        def run_kubectl() -> None:
            state["kubectl"] += 1
            start = time.perf_counter()
            self.kubectl("scale", "-n", ns_k, "deployment/ray-worker", f"--replicas={state['kubectl']}")
            self.kubectl("rollout", "status", "-n", ns_k, "deployment/ray-worker", "--timeout=600s")
            kube_t.append(time.perf_counter() - start)
            self.check_ready("scale/kubectl", ns_k)

        for r in self.rounds():
            self.alternate(r, [run_ours, run_kubectl])
            self.log(f"scale round {r + 1}: ours {ours_t[-1]:.1f}s, kubectl {kube_t[-1]:.1f}s")
        self.add(
            Row(
                "4. Scale",
                "scale/kubectl",
                "`pulumi config set workers N+1` + `pulumi up`",
                "`kubectl scale --replicas N+1` + `kubectl rollout status`",
                ours_t,
                kube_t,
            )
        )
        self.breakdown("ours: scale", ours_runs)

    def scenario_large(self) -> None:
        """5: workers=N (1000) on enough fake nodes: time to Ready vs kubectl, and peak memory."""
        n = self.opts.large_workers
        ours_prog = self.program("ours")
        _, manifests = self.plain_program("plain-large", {"namespace": PLACEHOLDER_NS, "workers": n})
        ours: list[float] = []
        kube: list[float] = []
        ours_runs: list[Timed] = []
        kube_mem: list[float] = []

        def run_ours(r: int) -> None:
            ns, stack = f"large-ours-{r}", f"large-{r}"
            self.engine.init(ours_prog, stack, {"namespace": ns, "workers": str(n)})
            t = self.up(ours_prog, stack)
            self.check_ready("large/ours", ns)
            ours.append(t.seconds)
            ours_runs.append(t)
            self.delete_namespace(ns)
            self.engine.remove(ours_prog, stack)

        def run_kubectl(r: int) -> None:
            ns = f"large-kubectl-{r}"
            path = self.write_manifests(manifests, ns, f"large-{r}")
            with ProcessWatch(os.getpid(), time.clock_gettime(time.CLOCK_BOOTTIME)) as watch:
                kube.append(self.kubectl_create(path, ns, ["ray-head", "ray-worker"]))
            kube_mem.append(watch.peak_mib_by_kind().get("kubectl", 0.0))
            self.check_ready("large/kubectl", ns)
            self.delete_namespace(ns)

        for r in self.rounds():
            self.alternate(r, [lambda r=r: run_ours(r), lambda r=r: run_kubectl(r)])
            self.log(f"large round {r + 1}: ours {ours[-1]:.1f}s, kubectl {kube[-1]:.1f}s")
        self.add(
            Row(
                "5. Large",
                "large/kubectl",
                f"`pulumi up` on a fresh stack, workers={n}, until Ready",
                f"`kubectl apply -f` + `kubectl rollout status`, workers={n}",
                ours,
                kube,
            )
        )
        key = f"ours (workers={n}): create"
        self.breakdown(key, ours_runs, memory=True)
        self.results.memory[key]["kubectl (largest process, baseline)"] = kube_mem

    def scenario_composition(self) -> None:
        """6: 1, 10 and 50 clusters in one stack: preview time, cost per added cluster, vs plain."""
        sizes = self.opts.compose_sizes
        ours_prog = self.program("compose", PROGRAMS / "compose")
        plains: dict[int, Program] = {}
        for n in sizes:
            self.engine.init(ours_prog, f"n{n}", {"clusters": str(n)})
            plains[n], _ = self.plain_program(f"plain-compose-{n}", {}, clusters=n)
            self.engine.init(plains[n], f"n{n}")
        ours: dict[int, list[float]] = {n: [] for n in sizes}
        plain: dict[int, list[float]] = {n: [] for n in sizes}
        largest: dict[str, list[Timed]] = {"ours": [], "plain": []}
        for r in self.rounds():
            for n in sizes:

                def run_ours(n: int = n) -> None:
                    t = self.engine.timed(ours_prog, f"n{n}", "preview")
                    ours[n].append(t.seconds)
                    if n == sizes[-1]:
                        largest["ours"].append(t)

                def run_plain(n: int = n) -> None:
                    t = self.engine.timed(plains[n], f"n{n}", "preview")
                    plain[n].append(t.seconds)
                    if n == sizes[-1]:
                        largest["plain"].append(t)

                self.alternate(r, [run_ours, run_plain])
            self.log(
                "composition round {}: {}".format(
                    r + 1, ", ".join(f"{n}: ours {ours[n][-1]:.1f}s plain {plain[n][-1]:.1f}s" for n in sizes)
                )
            )
        for n in sizes:
            self.add(
                Row(
                    "6. Composition",
                    f"compose-{n}/plain",
                    f"`pulumi preview`, {n} cluster(s) in one stack (fresh)",
                    f"`pulumi preview` of the plain program with the same {n}x7 objects",
                    ours[n],
                    plain[n],
                )
            )
        comp: dict[str, Any] = {"sizes": sizes}
        for name, data in (("ours", ours), ("plain", plain)):
            comp[name] = {
                "median": {str(n): statistics.median(v) for n, v in data.items()},
                "slope": slope([(n, v) for n, vs in data.items() for v in vs]),
                "increments": {
                    f"{a}->{b}": (statistics.median(data[b]) - statistics.median(data[a])) / (b - a)
                    for a, b in itertools.pairwise(sizes)
                },
            }
        self.results.composition = comp
        for name, runs in largest.items():
            self.breakdown(f"{name}: preview of {sizes[-1]} clusters", runs, memory=True)

    def scenario_mocks(self) -> None:
        """7: program evaluation under mocks (ms per cluster) and import time, vs the plain program."""
        sizes = self.opts.compose_sizes
        plain_files = {}
        for n in sizes:
            prog = self._programs.get(f"plain-compose-{n}")
            if prog is None:
                prog, _ = self.plain_program(f"plain-compose-{n}", {}, clusters=n)
            plain_files[n] = prog.path / "template.py"
        for n in sizes:
            ours: list[float] = []
            plain: list[float] = []

            def eval_ours(n: int = n, out: list[float] = ours) -> None:
                out.extend(self.worker("eval", "--clusters", str(n), "--reps", "1"))

            def eval_plain(n: int = n, out: list[float] = plain) -> None:
                out.extend(self.worker("eval", "--plain", str(plain_files[n]), "--reps", "1"))

            for r in self.rounds():
                self.alternate(r, [eval_ours, eval_plain])
            self.add(
                Row(
                    "7. Program evaluation",
                    f"mock-eval-{n}/plain",
                    f"{n} cluster(s) under mocks, per cluster",
                    "the plain program under mocks, per cluster",
                    [1000 * v / n for v in ours],
                    [1000 * v / n for v in plain],
                    unit="ms",
                )
            )
        imports = {
            # What the program imports (the package itself imports RayCluster only on first use).
            "ours": "from ray_static import RayCluster",
            "plain": "import pulumi, pulumi_kubernetes.core.v1, pulumi_kubernetes.apps.v1, "
            "pulumi_kubernetes.networking.v1",
            "pulumi": "import pulumi",
        }
        times: dict[str, list[float]] = {k: [] for k in imports}
        for r in self.rounds():

            def arm(k: str) -> Callable[[], None]:
                code = f"import time; t = time.perf_counter(); {imports[k]}; print(time.perf_counter() - t)"
                return lambda: times[k].append(
                    1000
                    * float(
                        self.procs.run(
                            [self.python, "-c", code],
                            env=os.environ,
                            cwd=self.src,
                            log_path=self.work / "logs" / "imports.log",
                        ).output.split()[-1]
                    )
                )

            self.alternate(r, [arm("ours"), arm("plain"), arm("pulumi")])
        self.add(
            Row(
                "7. Program evaluation",
                "import/plain",
                "`from ray_static import RayCluster` (fresh interpreter)",
                "importing what the plain program uses (pulumi, pulumi_kubernetes core/apps/networking v1)",
                times["ours"],
                times["plain"],
                unit="ms",
            )
        )
        self.add(
            Row(
                "7. Program evaluation",
                "import/pulumi",
                "`from ray_static import RayCluster` (fresh interpreter)",
                "`import pulumi` alone",
                times["ours"],
                times["pulumi"],
                unit="ms",
            )
        )

    # --- the whole run ------------------------------------------------------------------------------

    def run(self) -> None:
        sc = set(self.opts.scenarios)
        if sc & {1, 2}:
            self.log("scenarios 1-2: create")
            self.scenario_create(with_kubectl=1 in sc, with_plain=2 in sc)
        if 2 in sc:
            self.log("scenario 2: the guide's four objects")
            self.scenario_four_objects()
        if 3 in sc:
            self.log("scenario 3: steady state")
            self.scenario_steady()
        if 4 in sc:
            self.log("scenario 4: scale")
            self.scenario_scale()
        if 6 in sc:
            self.log("scenario 6: composition")
            self.scenario_composition()
        if 7 in sc:
            self.log("scenario 7: mocks")
            self.scenario_mocks()
        if 5 in sc:
            self.log(f"scenario 5: large (workers={self.opts.large_workers})")
            self.scenario_large()


def snapshot_source(dest: Path, ref: str | None, results: Results) -> None:
    """The component and program to measure: a copy of the working tree, or `ref` from git."""
    dest.mkdir(parents=True)
    if ref:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, *SOURCE_FILES], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        commit = _git("rev-parse", "--short", ref)
        results.meta["source"] = f"git {ref}" + (f" ({commit})" if commit != ref else "")
        return
    for item in SOURCE_FILES:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / item)
    dirty = _git("status", "--porcelain", "--", *SOURCE_FILES)
    results.meta["source"] = f"working tree at {_git('rev-parse', '--short', 'HEAD')}" + (
        " (with uncommitted changes)" if dirty else ""
    )


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def nodes_for(workers: int) -> int:
    """Fake nodes enough for the head (2 CPUs) and `workers` 1-CPU workers, plus one spare."""
    return max(3, math.ceil((workers + 2) / NODE_CPUS) + 1)


def versions(env: Mapping[str, str]) -> dict[str, str]:
    def out(*argv: str) -> str:
        try:
            return subprocess.run(
                argv, env=dict(env), check=False, capture_output=True, text=True, timeout=60
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    pinned = pinned_versions()
    py = str(REPO / "venv" / "bin" / "python")
    sdk = out(
        py, "-c", "from importlib.metadata import version as v; print(v('pulumi'), v('pulumi_kubernetes'))"
    ).split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    return {
        "pulumi CLI": out("pulumi", "version"),
        "pulumi Python SDK": sdk[0] if sdk else "?",
        "pulumi-kubernetes SDK": sdk[1] if len(sdk) > 1 else "?",
        "pulumi-resource-kubernetes": pinned.get("PULUMI_K8S_PROVIDER_VERSION", "?"),
        "Kubernetes (control plane, kubectl)": pinned.get("KUBERNETES_VERSION", "?"),
        "kwok": pinned.get("KWOK_VERSION", "?"),
        "Python": out(py, "-c", "import platform; print(platform.python_version())"),
        "cores": str(os.cpu_count()),
        "CPU": cpu,
        "memory": f"{mem_kib / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextmanager
def local_control_plane(
    env: dict[str, str], workdir: Path, nodes: int, log: Callable[[str], None]
) -> Iterator[Path]:
    """A control plane of this run's own (scripts/cluster.sh via the e2e helper), always deleted."""
    from tests.e2e.support import local_cluster  # noqa: PLC0415 (needs REPO on sys.path)

    name = f"ray-static-bench-{os.getpid()}"
    cenv = {**env, "RAY_STATIC_NODES": str(nodes)}
    log(f"starting control plane {name} with {nodes} fake nodes")
    with local_cluster(name, workdir, cenv) as cluster:
        yield cluster.kubeconfig
    log(f"deleted control plane {name}")


def execute(opts: Options) -> Results:
    """Runs the selected scenarios on a fresh local control plane; everything started is stopped."""
    procs = Processes()
    results = opts.results
    started = time.time()
    try:
        env = toolchain_env()
        results.meta.update(
            {
                "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                "versions": versions(env),
                "runs": opts.runs,
                "scenarios": opts.scenarios,
                "large_workers": opts.large_workers,
                "compose_sizes": opts.compose_sizes,
                "nodes": opts.nodes,
                "load_before": loadavg(),
            }
        )
        # The source is copied first, so later edits of the working tree do not reach this run.
        snapshot_source(opts.workdir / "src", opts.ref, results)
        with local_control_plane(env, opts.workdir, opts.nodes, opts.log) as kubeconfig:
            bench = Bench(opts, procs, env, kubeconfig)
            try:
                bench.run()
            finally:
                procs.stop_all()
    finally:
        procs.stop_all()
        results.meta["load_after"] = loadavg()
        results.meta["duration_min"] = round((time.time() - started) / 60, 1)
    return results

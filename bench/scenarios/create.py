"""Scenarios 1 and 2: creating a cluster, against kubectl and against a plain Pulumi program."""

from bench.kube import PLACEHOLDER_NS
from bench.lifecycle import component_arm, kubectl_arm, plain_arm
from bench.rounds import compare
from bench.scenarios.base import Scenario, measure
from bench.session import Bench

CREATE = Scenario(
    1,
    "Create",
    "1. Create",
    "`pulumi up` on a fresh stack until Ready",
    "`kubectl apply -f` of the same objects + `kubectl rollout status`",
)
OVERHEAD = Scenario(
    2,
    "Our own overhead",
    "2. Our own overhead",
    "`pulumi up` of the component (default cluster, and the guide's four objects)",
    "a plain pulumi_kubernetes program creating the same objects",
)

# The guide's four objects, as stack config for our program and as component args for the generator of
# the plain program (which renders the component under mocks).
FOUR_OBJECTS_CONFIG = {"auth": "false", "networkPolicy": "false", "serviceAccount": "default"}
FOUR_OBJECTS_ARGS = {"auth": False, "network_policy": False, "service_account": "default"}


@measure("scenarios 1-2: create", CREATE, OVERHEAD)
def create(bench: Bench) -> None:
    """1 and 2: `pulumi up` on a fresh stack until Ready, vs kubectl apply + rollout, vs plain Pulumi.

    One `ours` arm serves both scenarios, so each round times it once against whichever baselines run.
    """
    selected = set(bench.opts.scenarios)
    ours = component_arm(bench, bench.projects.program("ours"), "create")
    plain_program, manifests = bench.projects.plain("plain", {"namespace": PLACEHOLDER_NS})
    kubectl = kubectl_arm(bench, manifests, "create")
    plain = plain_arm(bench, plain_program, "create")
    arms = [ours]
    if 1 in selected:
        arms.append(kubectl)
    if 2 in selected:
        arms.append(plain)
    compare(bench, arms, "create")
    if 1 in selected:
        bench.add(
            CREATE.row(
                "create/kubectl",
                "`pulumi up` on a fresh stack until Ready (default cluster: 7 objects + generated token)",
                "`kubectl apply -f` of the same objects + `kubectl rollout status` on both Deployments",
                ours=ours.values,
                baseline=kubectl.values,
            )
        )
    if 2 in selected:
        bench.add(
            OVERHEAD.row(
                "create/plain",
                "`pulumi up`, default cluster (component, validation, generated token)",
                "plain pulumi_kubernetes program, the same 7 objects (token a literal secret)",
                ours=ours.values,
                baseline=plain.values,
            )
        )
        bench.breakdown("plain: create", plain.timed, memory=True)
    bench.breakdown("ours: create", ours.timed, memory=True)


@measure("scenario 2: the guide's four objects", OVERHEAD)
def four_objects(bench: Bench) -> None:
    """2 with the guide's four objects (auth, NetworkPolicy, ServiceAccount off)."""
    ours = component_arm(bench, bench.projects.program("ours"), "four", FOUR_OBJECTS_CONFIG)
    plain_program, _ = bench.projects.plain("plain4", {**FOUR_OBJECTS_ARGS, "namespace": PLACEHOLDER_NS})
    plain = plain_arm(bench, plain_program, "four")
    compare(bench, [ours, plain], "four-objects")
    bench.add(
        OVERHEAD.row(
            "create4/plain",
            "`pulumi up`, the guide's four objects (Namespace, Service, 2 Deployments)",
            "plain pulumi_kubernetes program, the same 4 objects",
            ours=ours.values,
            baseline=plain.values,
        )
    )
    bench.breakdown("ours (4 objects): create", ours.timed)

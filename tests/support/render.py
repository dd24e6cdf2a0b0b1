"""Render the RayCluster component (or the whole Pulumi program) with Pulumi mocks, without an engine.

Each call runs in a fresh Pulumi runtime (settings, root stack, config and event loop are reset), so the
functions can be called any number of times in one process. The result is every resource the program
registered, with its inputs in Kubernetes wire format (camelCase) and secrets unwrapped to plain values.

    from tests.support.render import render_cluster, find
    rendered = render_cluster({"workers": 2})
    worker = find(rendered, "apps/v1:Deployment", "ray-worker")
    assert worker.inputs["spec"]["replicas"] == 2
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from program.failure import ConfigExit

if TYPE_CHECKING:
    from ray_static import RayClusterArgs

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "ray-static"
STACK = "dev"

_SECRET_SIG = rpc._special_secret_sig
_SIG_KEY = rpc._special_sig_key


@dataclass(frozen=True)
class Rendered:
    """One resource registration seen by the mock engine."""

    type: str
    """Resource type token, e.g. ``kubernetes:apps/v1:Deployment``."""
    name: str
    """Pulumi resource name (not the Kubernetes ``metadata.name``)."""
    inputs: dict[str, Any]
    """Inputs in Kubernetes wire format (camelCase); Outputs and secrets resolved to plain values."""
    parent: str | None
    """Parent URN, or None."""
    provider: str | None
    """Provider reference (``<provider urn>::<id>``), or None for the default provider."""
    urn: str = ""
    custom: bool = True
    """False for component resources."""
    dependencies: tuple[str, ...] = ()
    """URNs from ``depends_on`` plus those implied by Output inputs."""
    deleted_with: str | None = None
    secret_paths: tuple[str, ...] = ()
    """Dotted paths of input values that were secrets (e.g. ``stringData.token``)."""
    additional_secret_outputs: tuple[str, ...] = ()
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """Everything one mock run recorded."""

    resources: list[Rendered]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Registered outputs per URN (components' ``register_outputs`` and the stack's exports)."""
    secret_outputs: dict[str, frozenset[str]] = field(default_factory=dict)
    """Names of the outputs that are secrets, per URN."""

    def component_outputs(self, name: str = "ray") -> dict[str, Any]:
        """Outputs registered by the RayCluster component called ``name``."""
        return self.outputs[_find_urn(self.resources, "ray-static:index:RayCluster", name)]

    def component_secret_outputs(self, name: str = "ray") -> frozenset[str]:
        return self.secret_outputs.get(
            _find_urn(self.resources, "ray-static:index:RayCluster", name), frozenset()
        )

    @property
    def stack_outputs(self) -> dict[str, Any]:
        return self.outputs.get(_stack_urn(), {})

    @property
    def stack_secret_outputs(self) -> frozenset[str]:
        return self.secret_outputs.get(_stack_urn(), frozenset())


class RenderError(Exception):
    """The program raised; ``run`` holds whatever was registered before it did."""

    def __init__(self, error: BaseException, run: Run) -> None:
        super().__init__(str(error))
        self.error = error
        self.run = run


def _stack_urn() -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"


def _find_urn(resources: list[Rendered], type_: str, name: str) -> str:
    for r in resources:
        if r.type == type_ and r.name == name:
            return r.urn
    raise KeyError(f"no {type_} named {name!r}")


def _unwrap(value: Any, path: str, secret_paths: list[str]) -> Any:
    """Strip secret wrappers and SDK resource references, recording where secrets were."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            secret_paths.append(path)
            return _unwrap(value.get("value"), path, [])
        return {
            k: _unwrap(v, f"{path}.{k}" if path else k, secret_paths)
            for k, v in value.items()
            if k != "__provider"
        }
    if isinstance(value, list):
        return [_unwrap(v, f"{path}[{i}]", secret_paths) for i, v in enumerate(value)]
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    return value


def _mock_state(type_: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Realistic id and state for a registration: what the provider would return after create."""
    if not type_.startswith("kubernetes:"):
        return f"{name}-id", dict(inputs)
    state = json.loads(json.dumps(inputs, default=str))
    if not isinstance(state.get("metadata", {}), dict):
        return f"{name}-id", state  # a preview's unknown value
    meta = state.setdefault("metadata", {})
    meta.setdefault("name", name)
    meta.setdefault("uid", f"uid-{name}")
    if type_ == "kubernetes:core/v1:Namespace":
        return meta["name"], state
    meta.setdefault("namespace", "default")
    if type_ == "kubernetes:core/v1:Service":
        spec = state.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("clusterIP", "10.96.0.10")
    return f"{meta['namespace']}/{meta['name']}", state


class _Monitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also records parent, provider, dependencies and registered outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.lock = threading.Lock()
        self.records: list[Rendered] = []
        self.outputs: dict[str, dict[str, Any]] = {}
        self.secret_outputs: dict[str, frozenset[str]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        secret_paths: list[str] = []
        inputs = _unwrap(rpc.deserialize_properties(request.object), "", secret_paths)
        record = Rendered(
            type=request.type,
            name=request.name,
            inputs=inputs,
            parent=request.parent or None,
            provider=request.provider or None,
            urn=response.urn,
            custom=bool(request.custom),
            dependencies=tuple(request.dependencies),
            deleted_with=request.deletedWith or None,
            secret_paths=tuple(sorted(secret_paths)),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=tuple(request.ignoreChanges),
        )
        with self.lock:
            self.records.append(record)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        raw = rpc.deserialize_properties(request.outputs)
        secret_names = frozenset(
            k for k, v in raw.items() if isinstance(v, dict) and v.get(_SIG_KEY) == _SECRET_SIG
        )
        with self.lock:
            self.outputs[request.urn] = _unwrap(raw, "", [])
            self.secret_outputs[request.urn] = secret_names
        return super().RegisterResourceOutputs(request)


class _Mocks(pulumi_mocks.Mocks):
    def __init__(self, referenced_outputs: Mapping[str, Any] | None = None) -> None:
        self.referenced_outputs = dict(referenced_outputs or {})
        """What every ``pulumi.StackReference`` of the run reads as the other stack's outputs."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": self.referenced_outputs, "secretOutputNames": []}
        inputs = _unwrap(args.inputs, "", [])
        return _mock_state(args.typ, args.name, inputs)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, []


async def _resolve(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)
    return await output.future(), bool(await output.is_secret())


@contextmanager
def _stack_config(config: Mapping[str, str], secret_keys: list[str]) -> Iterator[None]:
    """Present ``config`` the way the language host does (PULUMI_CONFIG), restoring the environment after."""
    saved = {k: os.environ.get(k) for k in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")}
    os.environ["PULUMI_CONFIG"] = json.dumps(dict(config))
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys)
    pulumi_config.set_all_config({}, [])
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        pulumi_config.set_all_config({}, [])


def _execute(
    program: Callable[[], None],
    config: Mapping[str, str] | None = None,
    *,
    preview: bool = False,
    referenced_outputs: Mapping[str, Any] | None = None,
) -> Run:
    """Run ``program`` under fresh mocks; raise RenderError (with what was registered) if it fails."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = _Monitor(_Mocks(referenced_outputs))
    secret_keys = [k for k in (config or {}) if k.endswith((":authToken",))]
    error: BaseException | None = None
    try:
        with _stack_config(config or {}, secret_keys):
            settings.reset_options(project=PROJECT, stack=STACK, preview=preview)
            mocks = _Mocks(referenced_outputs)
            pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=preview, monitor=monitor)
            try:
                _sync_await(run_pulumi_func(program))
            except ConfigExit as exc:
                error = exc.error  # the program's one-sentence exit: the error it logged
            except Exception as exc:
                error = exc
            stack = settings.get_root_resource()
            stack_outputs: dict[str, Any] = {}
            stack_secrets: set[str] = set()
            if error is None and stack is not None:
                for key, value in dict(getattr(stack, "outputs", {})).items():
                    stack_outputs[key], is_secret = _sync_await(_resolve(value))
                    if is_secret:
                        stack_secrets.add(key)
    finally:
        settings.reset_options()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        asyncio.set_event_loop(None)
    outputs = dict(monitor.outputs)
    secret_outputs = dict(monitor.secret_outputs)
    if stack_outputs:
        outputs[_stack_urn()] = stack_outputs
        secret_outputs[_stack_urn()] = frozenset(stack_secrets)
    run = Run(resources=list(monitor.records), outputs=outputs, secret_outputs=secret_outputs)
    if error is not None:
        raise RenderError(error, run) from error
    return run


def run_cluster(
    args: RayClusterArgs | Callable[[], RayClusterArgs] | None = None,
    name: str = "ray",
    opts: pulumi.ResourceOptions | None = None,
) -> Run:
    """Create one RayCluster under mocks; return resources and registered outputs.

    Pass a function returning the args when they hold Outputs (e.g. ``pulumi.Output.secret(...)``): Outputs
    belong to the run's event loop, so they must be made inside it.
    """
    from ray_static import RayCluster  # noqa: PLC0415 (imported after the mocks are configured)

    def program() -> None:
        resolved = args() if callable(args) else args
        RayCluster(name, resolved if resolved is not None else {}, opts)

    return _execute(program)


def run_program(config: Mapping[str, str] | None = None) -> Run:
    """Run ``__main__.py`` with the given stack config (keys like ``ray-static:workers``)."""
    main = str(REPO_ROOT / "__main__.py")

    def program() -> None:
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        runpy.run_path(main, run_name="__pulumi_program__")

    return _execute(program, config)


def run_programs(
    build: Callable[[], None],
    *,
    preview: bool = False,
    config: Mapping[str, str] | None = None,
    referenced_outputs: Mapping[str, Any] | None = None,
) -> Run:
    """Run an arbitrary inline program (e.g. two clusters, an explicit provider) under mocks, as an update
    or as a preview, with that stack config (keys like ``ray-static:rayToken``); every
    ``pulumi.StackReference`` it makes reads ``referenced_outputs`` as the other stack's outputs."""
    return _execute(build, config, preview=preview, referenced_outputs=referenced_outputs)


def render_cluster(
    args: RayClusterArgs | Callable[[], RayClusterArgs] | None = None,
    name: str = "ray",
    opts: pulumi.ResourceOptions | None = None,
) -> list[Rendered]:
    """Every resource one RayCluster registers (the component itself included)."""
    return run_cluster(args, name, opts).resources


def render_program(config: dict[str, str]) -> list[Rendered]:
    """Every resource ``__main__.py`` registers with that stack config."""
    return run_program(config).resources


def find(rendered: list[Rendered], type_suffix: str, name: str | None = None) -> Rendered:
    """The one resource whose type ends with ``type_suffix`` (and Pulumi name is ``name``, if given)."""
    matches = [r for r in rendered if r.type.endswith(type_suffix) and (name is None or r.name == name)]
    if len(matches) != 1:
        found = sorted(f"{r.type} {r.name}" for r in rendered)
        raise LookupError(f"expected one {type_suffix} named {name!r}, found {len(matches)} among {found}")
    return matches[0]


def find_all(rendered: list[Rendered], type_suffix: str) -> list[Rendered]:
    """All resources whose type ends with ``type_suffix``, sorted by name."""
    return sorted((r for r in rendered if r.type.endswith(type_suffix)), key=lambda r: r.name)


def kubernetes_objects(rendered: list[Rendered]) -> list[dict[str, Any]]:
    """The Kubernetes manifests (wire format) among ``rendered``, with apiVersion and kind filled in."""
    out = []
    for r in rendered:
        if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:index"):
            continue
        _, group_version, kind = r.type.split(":")
        group, version = group_version.split("/")
        api_version = version if group == "core" else f"{group}/{version}"
        out.append({"apiVersion": api_version, "kind": kind, **r.inputs})
    return out


def refusal(args: Any) -> str:
    """The one sentence a RayCluster with ``args`` is refused with; asserts nothing was registered."""
    from ray_static import RayStaticConfigError  # noqa: PLC0415 (imported after the mocks are configured)

    try:
        run_cluster(args)
    except RenderError as failure:
        assert isinstance(failure.error, RayStaticConfigError), failure.error
        assert failure.run.resources == []
        return str(failure.error)
    raise AssertionError(f"not refused: {args!r}")

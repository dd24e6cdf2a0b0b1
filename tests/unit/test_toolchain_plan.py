"""The toolchain's planning, run in scripts/toolchain.sh itself: the piece table, cache keys, stamps,
`missing`, `env`'s PATH order and `build`'s step numbering.

Each test sources the script (or runs it) in bash with RAY_STATIC_CACHE and HOME in a temporary directory,
fakes built pieces there (a `.built` stamp and empty executables) and stubs the build functions: nothing
is built, nothing is downloaded, and the real cache is never read or written.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
TOOLCHAIN = SCRIPTS / "toolchain.sh"
SETS = ("base", "node", "bench")


@dataclass(frozen=True)
class Row:
    """One PIECE_TABLE row: name, version variable, set, PATH rank, cold seconds and binaries."""

    name: str
    version_var: str
    set: str
    rank: str
    cold: str
    binaries: tuple[str, ...]


def piece_table(script: Path = TOOLCHAIN) -> list[Row]:
    """PIECE_TABLE as written in the script, in order (comment and blank lines skipped)."""
    table = re.search(r"^PIECE_TABLE='(.*?)'", script.read_text(), re.DOTALL | re.MULTILINE)
    assert table, f"{script} has no PIECE_TABLE"
    rows = []
    for line in table.group(1).splitlines():
        words = line.split()
        if words and not words[0].startswith("#"):
            assert len(words) >= 6, f"PIECE_TABLE row {line!r} has fewer than 6 columns"
            rows.append(Row(*words[:5], binaries=tuple(words[5:])))
    return rows


ROWS = piece_table()
BY_NAME = {row.name: row for row in ROWS}
BASE = [row.name for row in ROWS if row.set == "base"]
NODE = [row.name for row in ROWS if row.set == "node"]
BENCH = [row.name for row in ROWS if row.set == "bench"]


def bash(body: str, cache: Path, *args: str, script: Path = TOOLCHAIN) -> subprocess.CompletedProcess[str]:
    """`body` run by bash after `source script` (ARGS in "$@"), with the cache (and HOME) under `cache`."""
    return subprocess.run(
        ["bash", "-c", f'source "$1"; shift\n{body}', "bash", str(script), *args],
        env=_env(cache),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def toolchain(cache: Path, *args: str, script: Path = TOOLCHAIN) -> subprocess.CompletedProcess[str]:
    """`scripts/toolchain.sh ARGS` run as a command, with the cache (and HOME) under `cache`."""
    return subprocess.run(
        ["bash", str(script), *args], env=_env(cache), capture_output=True, text=True, check=False, timeout=30
    )


def _env(cache: Path) -> dict[str, str]:
    home = cache / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "RAY_STATIC_CACHE": str(cache),
        "PULUMI_HOME": str(home / ".pulumi"),
    }


def piece_dirs(cache: Path, script: Path = TOOLCHAIN) -> dict[str, Path]:
    """piece -> its cache directory, as the script names it (the cache key is the directory name)."""
    out = bash('for p in "${ALL_PIECES[@]}"; do echo "$p $(piece_dir "$p")"; done', cache, script=script)
    assert out.returncode == 0, out.stderr
    return {name: Path(path) for name, path in (line.split(" ", 1) for line in out.stdout.splitlines())}


def fake_built(directory: Path, binaries: tuple[str, ...], stamp: bool = True) -> None:
    """A piece's directory as a finished build leaves it: the binaries (executable) and the stamp."""
    directory.mkdir(parents=True)
    for binary in binaries:
        (directory / binary).touch(mode=0o755)
    if stamp:
        (directory / ".built").write_text("2026-01-01T00:00:00Z\n")


def build(cache: Path, *pieces: str) -> None:
    """Fakes these pieces built at their current keys."""
    dirs = piece_dirs(cache)
    for piece in pieces:
        fake_built(dirs[piece], BY_NAME[piece].binaries)


def scripts_copy(tmp_path: Path) -> Path:
    """A copy of what toolchain.sh reads at load (itself, versions.env, the language hosts' sources)."""
    copy = tmp_path / "scripts"
    for name in (
        "toolchain.sh",
        "versions.env",
        "language-python-host/main.go",
        "language-nodejs-host/main.go",
    ):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SCRIPTS / name, copy / name)
    return copy / "toolchain.sh"


def missing(cache: Path, *pieces: str) -> list[str]:
    """`toolchain.sh missing PIECES`, one line per piece not built."""
    out = toolchain(cache, "missing", *pieces)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def unbuilt(*pieces: str) -> list[str]:
    """What `missing` prints for these pieces: `<piece> <typical seconds>` (the table's cold column)."""
    return [f"{piece} {BY_NAME[piece].cold.removesuffix('s')}" for piece in pieces]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# The table


def test_every_row_is_well_formed() -> None:
    names = [row.name for row in ROWS]
    ranks = [row.rank for row in ROWS if row.rank != "-"]
    assert len(set(names)) == len(names), names
    assert all(re.fullmatch(r"[a-z][a-z-]*", name) for name in names), names
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", row.version_var) for row in ROWS)
    assert {row.set for row in ROWS} <= set(SETS)
    assert all(re.fullmatch(r"[1-9][0-9]*", rank) for rank in ranks)
    assert sorted(map(int, ranks)) == list(range(1, len(ranks) + 1)), "PATH ranks are 1..N, once each"
    assert all(re.fullmatch(r"[1-9][0-9]*s", row.cold) for row in ROWS)
    binaries = [binary for row in ROWS for binary in row.binaries]
    assert all(binaries) and len(set(binaries)) == len(binaries), "each binary comes from one piece"


def test_the_script_reads_the_table_as_written(cache: Path) -> None:
    out = bash(
        'echo "${ALL_PIECES[*]}"; echo "${BASE_PIECES[*]}"; echo "${NODE_PIECES[*]}"\n'
        'echo "${BENCH_PIECES[*]}"\n'
        'for p in "${ALL_PIECES[@]}"; do echo "$p $(piece_binaries "$p")"; done',
        cache,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:4] == [" ".join(r.name for r in ROWS), " ".join(BASE), " ".join(NODE), " ".join(BENCH)]
    assert lines[4:] == [" ".join((row.name, *row.binaries)) for row in ROWS]


def test_every_piece_has_a_build_function_and_a_pinned_version(cache: Path) -> None:
    out = bash(
        'for p in "${ALL_PIECES[@]}"; do\n'
        '  declare -F "build_${p//-/_}" >/dev/null || echo "$p: no function build_${p//-/_}"\n'
        '  [[ -n "$(piece_version "$p")" ]] || echo "$p: ${PIECE_VERSION_VAR[$p]} is empty"\n'
        "done",
        cache,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""


def test_only_the_table_names_pieces(cache: Path) -> None:
    """A build function no row names would never run; an unknown name is refused, not guessed."""
    out = bash("declare -F | awk '{print $3}' | grep '^build_' | grep -vx build_one", cache)
    assert sorted(out.stdout.split()) == sorted(f"build_{row.name.replace('-', '_')}" for row in ROWS)
    refused = toolchain(cache, "dir", "pulumi-cli")
    assert refused.returncode == 2
    assert "unknown piece 'pulumi-cli'" in refused.stderr


# Cache keys

# Which pieces each pinned version keys: a bump must rebuild exactly these.
KEYED_BY = {
    "PULUMI_VERSION": {"pulumi", "language-python", "language-nodejs"},
    "KUBERNETES_VERSION": {"kubernetes", "kubernetes-node"},
    "ETCD_VERSION": {"etcd"},
    "KWOK_VERSION": {"kwok"},
    "PULUMI_K8S_PROVIDER_VERSION": {"kubernetes-provider"},
    "PULUMI_YAML_VERSION": {"language-yaml"},
    "COREDNS_VERSION": {"coredns"},
    "KUBE_ROUTER_VERSION": {"kube-router"},
    "KUBERAY_VERSION": {"kuberay-operator"},
    "RAY_VERSION": set(),
}


def test_the_bump_table_covers_every_piece() -> None:
    assert set().union(*KEYED_BY.values()) == set(BY_NAME)


@pytest.mark.parametrize("variable", sorted(KEYED_BY))
def test_a_version_bump_in_versions_env_changes_exactly_its_pieces_keys(
    tmp_path: Path, cache: Path, variable: str
) -> None:
    script = scripts_copy(tmp_path)
    before = piece_dirs(cache, script)
    versions = script.parent / "versions.env"
    text, bumps = re.subn(rf"^{variable}=(.*)$", rf"{variable}=\g<1>.1", versions.read_text(), flags=re.M)
    assert bumps == 1, f"versions.env has no {variable}"
    versions.write_text(text)
    after = piece_dirs(cache, script)
    changed = {piece for piece in before if before[piece] != after[piece]}
    assert changed == KEYED_BY[variable]
    assert all(after[piece].parent == before[piece].parent for piece in before), "same cache, new key"


@pytest.mark.parametrize(
    ("source", "piece"),
    [
        ("language-python-host/main.go", "language-python"),
        ("language-nodejs-host/main.go", "language-nodejs"),
    ],
)
def test_an_edit_to_a_language_host_changes_only_its_key(
    tmp_path: Path, cache: Path, source: str, piece: str
) -> None:
    script = scripts_copy(tmp_path)
    before = piece_dirs(cache, script)
    with (script.parent / source).open("a") as main_go:
        main_go.write("\n// an edit\n")
    after = piece_dirs(cache, script)
    assert {p for p in before if before[p] != after[p]} == {piece}


def test_the_cache_key_is_the_name_and_version_under_the_cache(cache: Path) -> None:
    versions = dict(
        line.split("=", 1)
        for line in (SCRIPTS / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    dirs = piece_dirs(cache)
    assert dirs["etcd"] == cache / "toolchain" / f"etcd-{versions['ETCD_VERSION']}"
    assert (
        dirs["kubernetes-node"] == cache / "toolchain" / f"kubernetes-node-{versions['KUBERNETES_VERSION']}"
    )
    assert re.fullmatch(
        rf"language-python-{re.escape(versions['PULUMI_VERSION'])}-[0-9a-f]{{12}}",
        dirs["language-python"].name,
    )


# Stamps


def test_a_stamp_for_an_old_version_does_not_count_as_built(cache: Path) -> None:
    current = piece_dirs(cache)["etcd"]
    fake_built(current.with_name("etcd-3.5.0"), ("etcd",))
    assert missing(cache, "etcd") == unbuilt("etcd")
    fake_built(current, ("etcd",))
    assert missing(cache, "etcd") == []


@pytest.mark.parametrize("broken", ["no stamp", "a binary missing", "a binary not executable"])
def test_an_interrupted_build_does_not_count_as_built(cache: Path, broken: str) -> None:
    directory = piece_dirs(cache)["kubernetes"]
    binaries = BY_NAME["kubernetes"].binaries
    fake_built(directory, binaries[:-1] if broken == "a binary missing" else binaries, broken != "no stamp")
    if broken == "a binary not executable":
        (directory / binaries[-1]).chmod(0o644)
    assert missing(cache, "kubernetes") == unbuilt("kubernetes")


# missing


def test_missing_lists_exactly_the_unbuilt_pieces_of_the_base_set_by_default(cache: Path) -> None:
    assert missing(cache) == unbuilt(*BASE)
    build(cache, "pulumi", "etcd", "language-python")
    rest = [p for p in BASE if p not in {"pulumi", "etcd", "language-python"}]
    assert missing(cache) == unbuilt(*rest)
    build(cache, *rest)
    assert missing(cache) == []


def test_missing_keeps_the_order_asked_and_covers_the_node_set(cache: Path) -> None:
    build(cache, "kubernetes")
    assert missing(cache, "coredns", "kubernetes", "kubernetes-node") == unbuilt("coredns", "kubernetes-node")


def test_missing_refuses_an_unknown_piece(cache: Path) -> None:
    out = toolchain(cache, "missing", "pulumi", "kubelet")
    assert out.returncode == 2
    assert "unknown piece 'kubelet'" in out.stderr


# env


def test_env_puts_the_built_pieces_on_path_in_their_rank_order(cache: Path) -> None:
    build(cache, *(p for p in BASE if p != "etcd"))
    out = toolchain(cache, "env")
    assert out.returncode == 0, out.stderr
    dirs = piece_dirs(cache)
    ranked = sorted(
        (row for row in ROWS if row.rank != "-" and row.name != "etcd"), key=lambda r: int(r.rank)
    )
    path = "".join(f"{dirs[row.name]}:" for row in ranked)
    assert out.stdout.splitlines()[0] == f'export PATH="{path}$PATH"'
    assert out.stdout.splitlines()[0].startswith(f'export PATH="{dirs["pulumi"]}:')
    assert "etcd" in out.stderr and "is not built" in out.stderr


# build: which pieces, and how the steps are numbered

STUB_BUILD = """
build_one() { echo "step $2 $1"; PIECE_SECONDS[$1]=0; }
go() { echo "go version go0.0 linux/amd64"; }
link_bundled_language_host() { :; }
install_provider_plugin() { :; }
"""


def planned_steps(cache: Path, *args: str) -> list[str]:
    """The `step K/N piece` lines `build ARGS` would run, the build functions stubbed."""
    out = bash(STUB_BUILD + 'cmd_build "$@"', cache, *args)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_build_numbers_every_missing_base_piece_in_table_order(cache: Path) -> None:
    assert planned_steps(cache) == [f"step {k}/{len(BASE)} {p}" for k, p in enumerate(BASE, 1)]


def test_build_skips_what_is_built_and_numbers_only_the_rest(cache: Path) -> None:
    build(cache, "language-python", "kubernetes", "language-nodejs")
    rest = [p for p in BASE if p not in {"language-python", "kubernetes", "language-nodejs"}]
    assert planned_steps(cache) == [f"step {k}/{len(rest)} {p}" for k, p in enumerate(rest, 1)]
    build(cache, *rest)
    assert planned_steps(cache) == []


def test_build_node_plans_the_node_set_only(cache: Path) -> None:
    assert planned_steps(cache, "--node") == [f"step {k}/{len(NODE)} {p}" for k, p in enumerate(NODE, 1)]


def test_build_bench_plans_the_bench_set_only_and_nothing_else_plans_it(cache: Path) -> None:
    """The benchmarks' comparison pieces (the KubeRay operator) are built only when asked for: neither
    the base build that scripts/test and scripts/run use nor the real node's set pulls them in."""
    assert BENCH, "PIECE_TABLE has a bench set"
    assert planned_steps(cache, "--bench") == [f"step {k}/{len(BENCH)} {p}" for k, p in enumerate(BENCH, 1)]
    for args in ((), ("--node",)):
        assert not {line.split()[-1] for line in planned_steps(cache, *args)} & set(BENCH), args
    assert missing(cache) == unbuilt(*BASE)


def test_a_plan_spanning_calls_continues_the_callers_numbering(cache: Path) -> None:
    """scripts/run builds in several calls and passes `--step K/N` so the lines count one plan."""
    build(cache, "kubernetes-node")
    assert planned_steps(cache, "--step", "4/9", "--since", "0", "coredns", "kubernetes-node", "etcd") == [
        "step 4/9 coredns",
        "step 5/9 etcd",
    ]


def test_build_refuses_an_unknown_piece_before_building_anything(cache: Path) -> None:
    out = toolchain(cache, "build", "etcd", "kubelet")
    assert out.returncode == 2
    assert "unknown piece 'kubelet'" in out.stderr
    assert not (cache / "toolchain").exists()

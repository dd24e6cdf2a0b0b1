"""The external commands the project's scripts and tests run, read from their source.

Shell: the word at each command position (line start, after `;`, `&&`, `||`, `|`, `(`, `$(`, a backtick,
`then`/`do`/`else`/`if`/`while`/`until`/`!`, after leading `VAR=value` assignments and after prefix
commands such as `exec`, `env` or `setsid`), outside single quotes, heredoc bodies, comments, array
literals and arithmetic. The scripts' own functions are not commands; a function that runs its arguments
(`"$@"` at a command position) is a wrapper, and its header comment (`f() { # name log cmd...`) says how
many arguments come before the command, so `step "..." debootstrap ...` counts `debootstrap`.

Python: the first element of a list or tuple literal that is passed to `subprocess.run`/`Popen`/
`check_output`/`check_call`, directly or through a name assigned that literal in the same module, and the
argument of `shutil.which("...")`.

Commands built at run time (a variable in command position, a path from a toolchain lookup) are not seen:
the guard covers what the source names, which is where a new dependency shows up first.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_KEYWORDS = (
    "if then else elif fi for while until do done case esac in function select time coproc ! [[ ]] { }"
)
_BUILTINS = """
    alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs
    disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let
    local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source
    suspend test times trap true type typeset ulimit umask unalias unset wait . : [
"""
SHELL_KEYWORDS = frozenset(_KEYWORDS.split())
SHELL_BUILTINS = frozenset(_BUILTINS.split())
# Commands that run their arguments as a command, and how many option words take a value before it.
PREFIX_COMMANDS = {
    "exec": frozenset(),
    "command": frozenset(),
    "env": frozenset({"-u", "--unset", "-C", "--chdir"}),
    "setsid": frozenset(),
    "nohup": frozenset(),
    "nice": frozenset({"-n"}),
    "xargs": frozenset({"-n", "-P", "-I", "-d", "-L", "-s"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "flock": frozenset({"-w", "--timeout", "-E", "-c"}),
}
# Prefix commands whose first plain argument is not the command (timeout's duration, flock's lock file).
PREFIX_POSITIONALS = {"timeout": 1, "flock": 1}
COMMAND_WORD = re.compile(r"[A-Za-z_][\w.+-]*$")
ASSIGNMENT = re.compile(r"[A-Za-z_]\w*(\[[^]]*\])?\+?=")
FUNCTION_DEF = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{?(.*)$")
CASE_PATTERN = re.compile(r"[\w.*|-]+\)")
# `"$@"` at a command position, maybe after quoted words (`"${timer[@]}" "$@"`), not in `x=("$@")`.
RUNS_ARGUMENTS = re.compile(
    r'(^|[;&|!]|(?<!=)\(|\bthen|\bdo|\buntil|\bwhile|\bif|\]\})\s*("\$\{?[\w\[\]]*\}?"\s+)*"\$@"'
)
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_]\w*)\1")
SUBPROCESS_CALLS = frozenset({"run", "Popen", "check_output", "check_call", "call"})


@dataclass(frozen=True)
class Use:
    """One external command named in one file, at one line."""

    command: str
    path: Path
    line: int


def is_shell_script(path: Path) -> bool:
    """A file the guard reads as shell: `*.sh`, or an executable whose first line names bash or sh."""
    if path.suffix == ".sh":
        return True
    try:
        first = path.read_text(errors="replace").split("\n", 1)[0]
    except (OSError, UnicodeDecodeError):
        return False
    return first.startswith("#!") and re.search(r"\b(ba)?sh\b", first) is not None


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) with heredoc bodies dropped, and continuations joined: a trailing backslash, a
    quote left open, an array literal or a parenthesis group spanning lines."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        while i < len(lines) and (line.endswith("\\") or _open(line)):
            line = (line[:-1] if line.endswith("\\") else line) + " " + lines[i]
            i += 1
        yield number, line
        for match in HEREDOC.finditer(line):
            terminator = match.group(2)
            while i < len(lines) and lines[i].strip() != terminator:
                i += 1
            i += 1


def _open(line: str) -> bool:
    """Whether a line ends inside a quote or an unclosed parenthesis (comments aside); never for a line
    that starts a heredoc, whose body comes first."""
    if HEREDOC.search(line):
        return False
    quote, depth, i = "", 0, 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "\\":
            i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0) if depth else 0
        i += 1
    return bool(quote) or depth > 0


@dataclass
class _Scan:
    """The state of reading one logical line of shell, character by character."""

    line: str
    pos: int = 0
    at_command: bool = True
    prefix: str | None = None
    prefix_positionals: int = 0
    skip_args: int = 0


def shell_commands(line: str, wrappers: dict[str, int]) -> list[str]:
    """The words at command positions of one logical shell line (see the module docstring)."""
    scan = _Scan(line)
    found: list[str] = []
    in_double = False
    while scan.pos < len(line):
        ch = line[scan.pos]
        if in_double:
            if ch == "\\":
                scan.pos += 2
                continue
            if ch == '"':
                in_double = False
            elif line.startswith("$((", scan.pos):
                scan.pos = _skip_balanced(line, scan.pos + 1)
                continue
            elif line.startswith("$(", scan.pos) or ch == "`":
                found += shell_commands(_substitution(line, scan.pos), wrappers)
                scan.pos = _after_substitution(line, scan.pos)
                continue
            scan.pos += 1
            continue
        if ch == "#" and (scan.pos == 0 or line[scan.pos - 1] in " \t;"):
            break
        if ch == "'":
            end = line.find("'", scan.pos + 1)
            scan.pos = len(line) if end < 0 else end + 1
            scan.at_command = False
            continue
        if ch == '"':
            in_double = True
            if scan.at_command and scan.skip_args > 0:
                scan.skip_args -= 1  # a quoted argument of a wrapper, before its command
            elif scan.at_command:
                scan.at_command, scan.prefix = False, None  # "$cmd": a command chosen at run time
            scan.pos += 1
            continue
        if ch == "\\":
            scan.pos += 2
            continue
        if line.startswith("$((", scan.pos) or line.startswith("((", scan.pos):
            scan.pos = _skip_balanced(line, scan.pos + (1 if ch == "$" else 0))
            scan.at_command = False
            continue
        if line.startswith("$(", scan.pos) or ch == "`":
            found += shell_commands(_substitution(line, scan.pos), wrappers)
            scan.pos = _after_substitution(line, scan.pos)
            scan.at_command = False
            continue
        if ch in "<>":
            scan.pos = _skip_redirection(line, scan.pos)
            continue
        if ch in ";|&(){}\n":
            if ch == "(" and scan.pos > 0 and line[scan.pos - 1] == "=":
                scan.pos = _skip_balanced(line, scan.pos)
                continue
            scan.at_command, scan.prefix, scan.skip_args = True, None, 0
            scan.pos += 1
            continue
        if ch in " \t":
            scan.pos += 1
            continue
        if scan.at_command and CASE_PATTERN.match(line, scan.pos):
            scan.pos = line.index(")", scan.pos) + 1  # `up|destroy) ...;;`: the command follows
            continue
        word, end = _word(line, scan.pos)
        scan.pos = end
        found += _take_word(scan, word, wrappers)
    return found


def _take_word(scan: _Scan, word: str, wrappers: dict[str, int]) -> list[str]:
    """What one unquoted word at the scan's position contributes, and the state after it."""
    if not scan.at_command:
        return []
    if scan.skip_args > 0:
        scan.skip_args -= 1
        return []
    if ASSIGNMENT.match(word):
        return []
    if scan.prefix is not None:
        if word.startswith("-"):
            if word in PREFIX_COMMANDS[scan.prefix]:
                scan.skip_args = 1
            return []
        if scan.prefix_positionals > 0:
            scan.prefix_positionals -= 1
            return []
        scan.prefix = None
    if word in SHELL_KEYWORDS or word in ("local", "declare", "readonly", "export", "typeset"):
        if word in ("local", "declare", "readonly", "export", "typeset", "case", "for", "select"):
            scan.at_command = False
        return []
    if word in PREFIX_COMMANDS:
        scan.prefix = word
        scan.prefix_positionals = PREFIX_POSITIONALS.get(word, 0)
        return [] if word in SHELL_BUILTINS else [word]
    scan.at_command = False
    if word in wrappers:
        scan.at_command, scan.skip_args = True, wrappers[word]
        return []
    if word in SHELL_BUILTINS or not COMMAND_WORD.match(word):
        return []
    return [word]


def _word(line: str, pos: int) -> tuple[str, int]:
    end = pos
    while end < len(line) and line[end] not in " \t;|&()<>'\"`":
        if line[end] == "$" and line.startswith("$(", end):
            break
        end += 1
    return line[pos:end], max(end, pos + 1)


def _skip_balanced(line: str, pos: int) -> int:
    """The position after the parenthesis group that starts at `pos` (an array literal, arithmetic)."""
    depth = 0
    for i in range(pos, len(line)):
        if line[i] == "(":
            depth += 1
        elif line[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(line)


def _substitution(line: str, pos: int) -> str:
    if line[pos] == "`":
        end = line.find("`", pos + 1)
        return line[pos + 1 : end if end > 0 else len(line)]
    return line[pos + 2 : _skip_balanced(line, pos + 1) - 1]


def _after_substitution(line: str, pos: int) -> int:
    if line[pos] == "`":
        end = line.find("`", pos + 1)
        return len(line) if end < 0 else end + 1
    return _skip_balanced(line, pos + 1)


def _skip_redirection(line: str, pos: int) -> int:
    """Past `>`, `>>`, `2>&1`, `8>&-`, `<(` (a process substitution is left for the caller to read)."""
    end = pos + 1
    if line.startswith("<(", pos) or line.startswith(">(", pos):
        return pos + 1
    while end < len(line) and line[end] in "<>&-":
        end += 1
    while end < len(line) and line[end] in "0123456789-":
        end += 1
    return end


def shell_functions(text: str) -> set[str]:
    """The names of the functions a script defines."""
    return {m.group(1) for line in text.split("\n") if (m := FUNCTION_DEF.match(line))}


def shell_wrappers(text: str) -> dict[str, int | None]:
    """Functions that run their arguments as a command: name -> arguments before the command (None when the
    header comment does not say, `f() { # a b cmd...`)."""
    wrappers: dict[str, int | None] = {}
    name: str | None = None
    header = ""
    for line in text.split("\n"):
        if m := FUNCTION_DEF.match(line):
            name, header = m.group(1), m.group(2)
        if name is None:
            continue
        if RUNS_ARGUMENTS.search(line):
            wrappers[name] = _leading_args(header)
        if line.startswith("}") or (re.search(r"\}\s*$", line) and FUNCTION_DEF.match(line)):
            name = None
    return wrappers


def _leading_args(header: str) -> int | None:
    comment = header.split("#", 1)[1] if "#" in header else ""
    words = comment.split()
    for i, w in enumerate(words):
        if w.rstrip(".") == "cmd":
            return i
    return None


def shell_uses(paths: Iterable[Path], root: Path) -> tuple[list[Use], dict[str, str]]:
    """Every external command the shell scripts name, and the wrappers whose header comment is missing
    (name -> script)."""
    texts = {p: p.read_text() for p in paths}
    functions: set[str] = set()
    wrappers: dict[str, int] = {}
    undeclared: dict[str, str] = {}
    for path, text in texts.items():
        functions |= shell_functions(text)
        for name, count in shell_wrappers(text).items():
            if count is None:
                undeclared[name] = str(path.relative_to(root))
            else:
                wrappers[name] = count
    uses = []
    for path, text in texts.items():
        for number, line in logical_lines(text):
            for command in shell_commands(line, wrappers):
                if command not in functions:
                    uses.append(Use(command, path, number))
    return uses, undeclared


def python_uses(paths: Iterable[Path]) -> list[Use]:
    """Every external command the Python files name (see the module docstring)."""
    uses = []
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        literals = _list_assignments(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            owner, name = _qualified(node.func)
            if owner == "shutil" and name == "which" and isinstance(first, ast.Constant):
                uses.append(Use(str(first.value), path, node.lineno))
            elif owner == "subprocess" and name in SUBPROCESS_CALLS:
                if isinstance(first, ast.Name):
                    first = literals.get(first.id, first)
                command = _first_string(first)
                if command is not None:
                    uses.append(Use(Path(command).name, path, node.lineno))
    return uses


def _qualified(func: ast.expr) -> tuple[str, str]:
    """`subprocess.run` -> ("subprocess", "run"); anything else -> ("", name or "")."""
    if isinstance(func, ast.Attribute):
        return (func.value.id if isinstance(func.value, ast.Name) else "", func.attr)
    return ("", func.id if isinstance(func, ast.Name) else "")


def _list_assignments(tree: ast.AST) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
    return found


def _first_string(node: ast.expr) -> str | None:
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        head = node.elts[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value
    return None

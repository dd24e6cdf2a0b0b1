"""The docstrings under the args' fields, made visible at runtime.

Python keeps no docstring of a TypedDict field: `help(RayClusterArgs)` would show the class's own line
and nothing of its 49 fields. Each args class's __doc__ gets a "Fields" section read from the source, the
same docstrings Pulumi's schema inference reads for other languages, so an IDE's hover and `help()` show
what the schema shows.
"""

import ast
import inspect
import sys
import textwrap
from collections.abc import Iterable

FIELDS_HEADING = "Fields:"


def field_docstrings(module_source: str) -> dict[str, dict[str, str]]:
    """class name -> field -> the docstring under the field, for every class of a module's source."""
    found: dict[str, dict[str, str]] = {}
    for node in ast.parse(module_source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = found.setdefault(node.name, {})
        for field, doc in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                fields[field.target.id] = inspect.cleandoc(doc.value.value)
    return found


def document_fields(classes: Iterable[type]) -> None:
    """Append a "Fields" section to each class's docstring: every field, inherited ones included (a
    TypedDict keeps no bases at runtime, so an inherited field's docstring is the one of the class in the
    same module that declares it)."""
    classes = list(classes)
    parsed = {m: field_docstrings(inspect.getsource(sys.modules[m])) for m in {c.__module__ for c in classes}}
    for cls in classes:
        declared = parsed[cls.__module__]
        own = declared.get(cls.__name__, {})
        anywhere = {name: doc for fields in declared.values() for name, doc in fields.items()}
        lines = [
            f"    {name}: " + textwrap.indent(own.get(name) or anywhere.get(name, ""), " " * 8).lstrip()
            for name in cls.__annotations__
        ]
        base = inspect.cleandoc(cls.__doc__ or "")
        if FIELDS_HEADING not in base:
            cls.__doc__ = "\n".join([base, "", FIELDS_HEADING, *lines])

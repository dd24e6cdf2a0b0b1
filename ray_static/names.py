"""Names as users write them: the snake_case of Python args, the camelCase of other languages and of the
stack config's JSON, and the closest known name to a typo."""

import difflib
import re
from collections.abc import Callable, Iterable

from ray_static.errors import show

_SNAKE_WORD = re.compile(r"\b([a-z][a-z0-9]*)((?:_[a-z0-9]+)+)\b")


def camel(snake: str) -> str:
    """``node_selector`` -> ``nodeSelector``."""
    first, *rest = snake.split("_")
    return first + "".join(part.title() for part in rest)


def camel_path(path: str) -> str:
    """Every snake_case word of an argument path in camelCase: ``worker_groups[0].node_selector`` ->
    ``workerGroups[0].nodeSelector``."""
    return _SNAKE_WORD.sub(lambda m: camel(m[0]), path)


def did_you_mean(key: str, known: Iterable[str], shown: Callable[[str], str] = show) -> str:
    """`` (did you mean "x"?)`` for the known name closest to a mistyped ``key``, or "" when none is close
    (difflib's default similarity of 0.6)."""
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {shown(close[0])}?)" if close else ""

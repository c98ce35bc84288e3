"""``${VAR}`` references in ``sources`` and ``channels``: written right, set, and URLs.

Checked at load (independent of the environment): a half-written ``${VAR`` or a bare
``$VAR`` (both would be sent to the helpdesk literally) and literal values at URL keys.
Checked against an environment (``validate``, and before ``plan``/``sync``/``run`` start):
every variable an enabled source or a channel needs is set, not empty, and a URL where one is
expected. Messages name the variable, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from escalator.config.errors import Problem
from escalator.config.schema import ConfigModel
from escalator.config.yamlsource import Located, Path_, walk_strings

SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_SECTIONS = ("sources", "channels")
_BARE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _dotted(path: Path_) -> str:
    return ".".join(map(str, path))


def _strings(located: Located) -> Iterator[tuple[Path_, str]]:
    for section in SECRET_SECTIONS:
        yield from walk_strings(located.data.get(section, {}), (section,))


def is_url_key(path: Path_) -> bool:
    return (
        bool(path)
        and isinstance(path[-1], str)
        and (path[-1] == "url" or path[-1].endswith("_url"))
    )


def url_error(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL with a host, without quoting it."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"not an http(s) URL (scheme {parts.scheme or 'none'!r})"
    if not host or any(c.isspace() for c in value.strip()):
        return "not a URL (no host, or spaces in it)"
    return None


def reference_problems(located: Located) -> list[Problem]:
    """``${VAR`` without its brace, ``${}``, ``$VAR``: references that would be sent as text."""
    problems = []
    for path, text in _strings(located):
        rest = SECRET.sub("", text)
        if "${" in rest:
            start = rest.index("${")
            fragment = rest[start : start + 40]
            message = (
                f"{fragment!r} is missing its closing '}}'"
                if "}" not in rest[start:]
                else f"{fragment!r} is not a ${{VAR}} reference (names are letters, digits, _)"
            )
            problems.append(located.problem(path, f"{_dotted(path)}: {message}"))
        elif bare := _BARE.search(rest):
            problems.append(
                located.problem(
                    path,
                    f"{_dotted(path)}: write ${{{bare.group(1)}}} to read {bare.group(1)} from "
                    f"the environment ('${bare.group(1)}' would be used as it is)",
                )
            )
    return problems


def url_problems(located: Located) -> list[Problem]:
    """Literal values (not read from the environment) at URL keys that are not URLs."""
    problems = []
    for path, text in _strings(located):
        if is_url_key(path) and "$" not in text and (why := url_error(text)) is not None:
            problems.append(located.problem(path, f"{_dotted(path)}: {text[:60]!r} is {why}"))
    return problems


def env_problems(model: ConfigModel, located: Located, env: Mapping[str, str]) -> list[Problem]:
    """Every variable a switched-on source or a channel needs: unset, empty, or not a URL."""
    problems = []
    for path, text in _strings(located):
        if path[0] == "sources" and len(path) > 1:
            source = model.sources.get(str(path[1]))
            if source is not None and not source.enabled:
                continue  # a switched-off source needs no secrets
        names = SECRET.findall(text)
        for name in names:
            needed = f"(needed by {_dotted(path)})"
            if name not in env:
                problems.append(
                    located.problem(path, f"environment variable {name} is not set {needed}")
                )
            elif not env[name].strip():
                problems.append(
                    located.problem(path, f"environment variable {name} is set but empty {needed}")
                )
        if names and is_url_key(path) and all(env.get(n, "").strip() for n in names):
            why = url_error(SECRET.sub(lambda m: env[m.group(1)], text))
            if why is not None:
                problems.append(
                    located.problem(
                        path,
                        f"{_dotted(path)}: the value read from {', '.join(names)} is {why}",
                    )
                )
    return problems

"""The Jinja2 sandbox templates render in, with a size and time budget.

The immutable sandbox already refuses Python internals and caps ``range()``. This one also
refuses the operations that allocate without bound in a single C call (``"x" * 10**9``,
``10 ** 10 ** 9``, ``center(10**9)``, ``"%999999999d" % 1``), caps what a template may
produce, and ``test_render`` runs a template under a deadline and a memory cap, so a loop
too long or an accumulating string fails at load instead of hanging the service.
"""

from __future__ import annotations

import functools
import re
import sys
import tracemalloc
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from escalator.config.budget import cpu_clock

MAX_TEMPLATE_CHARS = 20_000  # a template is a message, not a document
MAX_RENDERED_CHARS = 50_000  # what one render may produce (a helpdesk comment, a chat message)
MAX_PARAMETER = 100_000  # the largest number a filter or method may be given (widths, lengths)
MAX_INT_BITS = 100_000  # integers a template computes (a googol has 333 bits)
MAX_RENDER_BYTES = 16_000_000  # memory a test render may allocate
MAX_RENDER_SECONDS = 0.5

# a width or precision of 100,000 or more: in printf style (%999999d, %.999999f) or in a
# str.format field ({:>999999}, {0:.999999})
_FORMAT_WIDTH = re.compile(r"%[-+ #0*]*\d*\.?\d{6,}|\{[^{}]*:[^{}]*?\d{6,}[^{}]*\}")


class TemplateTooCostly(BaseException):
    """Raised inside a render that went past its budget; a BaseException so that nothing in
    the template's own code can swallow it."""


def _refuse(message: str) -> TemplateTooCostly:
    return TemplateTooCostly(message)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _check_parameters(params: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for p in (*params, *kwargs.values()):
        if isinstance(p, int) and not isinstance(p, bool) and abs(p) > MAX_PARAMETER:
            raise _refuse(f"a parameter of {p} is larger than the {MAX_PARAMETER:,} allowed")
        if isinstance(p, str) and _FORMAT_WIDTH.search(p):
            raise _refuse("a format width or precision larger than 99,999")


def _check_result(value: Any) -> Any:
    if _size(value) > MAX_RENDERED_CHARS:
        raise _refuse(f"a value grew past {MAX_RENDERED_CHARS:,} characters")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _refuse("a number grew too large")
    return value


def _check_replace(text: str, args: tuple[Any, ...]) -> None:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = len(text) + 1 if args[0] == "" else text.count(args[0])
        if count * len(args[1]) > MAX_RENDERED_CHARS:
            raise _refuse(f"replace() would make more than {MAX_RENDERED_CHARS:,} characters")


def _guard_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    passes = getattr(fn, "jinja_pass_arg", None) is not None  # context/environment come first

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        value_at = 1 if passes else 0
        params = args[value_at + 1 :]
        _check_parameters(params, kwargs)
        if name == "replace" and len(args) > value_at:
            _check_replace(str(args[value_at]), params)
        if name == "format" and len(args) > value_at:  # the value is the format string
            _check_parameters((args[value_at],), {})
        return _check_result(fn(*args, **kwargs))

    return guarded


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    _size(seq)
                    and isinstance(times, int)
                    and _size(seq) * times > MAX_RENDERED_CHARS
                ):
                    raise _refuse(f"a repetition longer than {MAX_RENDERED_CHARS:,} characters")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _refuse("a number grew too large")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and max(left.bit_length(), 1) * right > MAX_INT_BITS:
                raise _refuse(f"{left} ** {right} is too large a number")
        elif operator == "%" and isinstance(left, str):
            if _FORMAT_WIDTH.search(left):
                raise _refuse("a format width or precision larger than 99,999")
            if "*" in left:  # widths taken from the arguments
                _check_parameters(right if isinstance(right, tuple) else (right,), {})
        return _check_result(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_parameters(args, kwargs)
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            name = getattr(method, "__name__", "")
            if _FORMAT_WIDTH.search(owner) and name in ("format", "format_map"):
                raise _refuse("a format width or precision larger than 99,999")
            if name == "replace":
                _check_replace(owner, args)
        return _check_result(super().call(__context, __obj, *args, **kwargs))


ENVIRONMENT = BudgetedSandbox(
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


def render_capped(template: Template, context: Mapping[str, Any]) -> str:
    """Render, refusing output beyond ``MAX_RENDERED_CHARS``."""
    size = 0
    chunks: list[str] = []
    for chunk in template.generate(context):
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise _refuse(f"it renders more than {MAX_RENDERED_CHARS:,} characters")
        chunks.append(chunk)
    return "".join(chunks)


def trial_render(template: Template, context: Mapping[str, Any], seconds: float) -> str:
    """Render under a deadline and a memory cap; ``TemplateTooCostly`` when past either.

    A trace function sees every line the compiled template runs, so a loop that produces
    nothing still meets the deadline; tracemalloc measures what the render allocated.
    """
    deadline = cpu_clock() + min(seconds, MAX_RENDER_SECONDS)
    late = (
        f"it takes more than {MAX_RENDER_SECONDS:g} s to render"
        if seconds >= MAX_RENDER_SECONDS
        else "rendering it ran past the config's load budget (1 s in all)"
    )
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if cpu_clock() > deadline:
            raise _refuse(late)
        if tracemalloc.get_traced_memory()[0] - base > MAX_RENDER_BYTES:
            raise _refuse(f"it needs more than {MAX_RENDER_BYTES // 1_000_000} MB to render")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return render_capped(template, context)
    finally:
        sys.settrace(previous)
        if started:
            tracemalloc.stop()


def template_line(template: Template, exc: BaseException) -> int:
    """The template line a render failed on (1 when it cannot be told).

    Jinja rewrites the traceback of an ``Exception`` so that its frames carry template lines;
    a ``TemplateTooCostly`` passes through unrewritten, with lines of the compiled code.
    """
    lines = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            lines.append(tb.tb_lineno)
        tb = tb.tb_next
    if not lines:
        return 1
    if isinstance(exc, TemplateTooCostly):
        return template.get_corresponding_lineno(lines[-1])
    return lines[-1]

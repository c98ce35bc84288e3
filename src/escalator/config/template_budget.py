"""The Jinja2 sandbox templates render in, with a size and time budget.

The immutable sandbox already refuses Python internals and caps ``range()``. This one also
refuses the operations that allocate without bound in a single C call (``"x" * 10**9``,
``10 ** 10 ** 9``, ``center(10**9)``, ``"%999999999d" % 1``), caps what a template may
produce, and ``test_render`` runs a template under a deadline and a memory cap, so a loop
too long or an accumulating string fails at load instead of hanging the service.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 20_000  # a template is a message, not a document
MAX_RENDERED_CHARS = 50_000  # what one render may produce (a helpdesk comment, a chat message)
MAX_PARAMETER = 100_000  # the largest number a filter or method may be given (widths, lengths)
MAX_INT_BITS = 100_000  # integers a template computes (a googol has 333 bits)
MAX_RENDER_BYTES = 16_000_000  # memory a test render may add to the process
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


class _BudgetedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a join that refuses a result past the size limit (Jinja's own
    ``str_join`` cannot be intercepted, and doubling a string in a loop is how a template
    would otherwise take all memory)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})
    code_generator_class = _BudgetedCodeGenerator

    def checked_concat(self, values: tuple[Any, ...]) -> str:
        parts = [str(v) for v in values]
        if sum(map(len, parts)) > MAX_RENDERED_CHARS:
            raise _refuse(f"a joined value grew past {MAX_RENDERED_CHARS:,} characters")
        return "".join(parts)

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
    return _capped(template.generate(context))


def _capped(chunks: Iterator[str]) -> str:
    size = 0
    kept: list[str] = []
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise _refuse(f"it renders more than {MAX_RENDERED_CHARS:,} characters")
        kept.append(chunk)
    return "".join(kept)


def run_renderer(template: Template) -> Callable[[Mapping[str, Any]], str]:
    """``render_capped`` for a template that passed its load checks, rendered once per action
    written: its globals merged once rather than at every render, and the compiled code
    iterated without ``generate``'s wrapper (which only rewrites a failure's traceback; the
    caller reports the failure by type alone). The same sandbox and the same cap."""
    globals_ = dict(template.globals)

    def render(context: Mapping[str, Any]) -> str:
        # shared: Jinja takes these variables as they are, instead of merging the globals in
        ctx = template.new_context({**globals_, **context}, shared=True)
        return _capped(template.root_render_func(ctx))

    return render


def trial_render(template: Template, context: Mapping[str, Any], seconds: float) -> str:
    """Render under a deadline and a memory cap; ``TemplateTooCostly`` when past either.

    A watchdog thread measures the rendering thread's CPU time and the process's memory, and
    past a limit raises ``TemplateTooCostly`` in it: a loop that produces nothing is stopped
    between two bytecodes. (A trace function would see every line, but slows every render and
    kept memory from each one.)
    """
    late = (
        f"it takes more than {MAX_RENDER_SECONDS:g} s to render"
        if seconds >= MAX_RENDER_SECONDS
        else "rendering it ran past the config's load budget (1 s in all)"
    )
    watchdog = _Watchdog(min(seconds, MAX_RENDER_SECONDS), late)
    try:
        watchdog.start()
        try:
            return render_capped(template, context)
        finally:
            watchdog.stop()
    except TemplateTooCostly as exc:
        if exc.args:
            raise
        # raised by the watchdog, bare: say why, keeping where the template was
        raise TemplateTooCostly(watchdog.reason).with_traceback(exc.__traceback__) from None


class _Watchdog(threading.Thread):
    """Raises ``TemplateTooCostly`` in the thread that made it once that thread has used
    ``seconds`` of CPU, or the process has grown by ``MAX_RENDER_BYTES``."""

    def __init__(self, seconds: float, late: str) -> None:
        super().__init__(name="template-watchdog", daemon=True)
        self._target = threading.get_ident()
        self._clock = _cpu_clock_of(self._target)
        self._deadline = self._clock() + seconds
        self._late = late
        self._memory = _resident_bytes()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._fired = False
        self.reason = ""

    def run(self) -> None:
        while not self._done.wait(0.005):
            if self._clock() > self._deadline:
                reason = self._late
            elif self._memory and _resident_bytes() - self._memory > MAX_RENDER_BYTES:
                reason = f"it needs more than {MAX_RENDER_BYTES // 1_000_000} MB to render"
            else:
                continue
            with self._lock:
                if not self._done.is_set():
                    self.reason, self._fired = reason, True
                    _raise_in(self._target, TemplateTooCostly)
            return

    def stop(self) -> None:
        """The render is over: no exception may reach the thread after this returns."""
        with self._lock:
            self._done.set()
            if self._fired:
                _raise_in(self._target, None)  # withdraw it if not delivered yet


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in another thread at its next bytecode (``None``: withdraw it)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), None if exc is None else ctypes.py_object(exc)
    )


def _cpu_clock_of(thread_id: int) -> Callable[[], float]:
    """The CPU time of thread ``thread_id`` (as the load budget counts); wall time where the
    platform cannot tell."""
    try:
        clock = time.pthread_getcpuclockid(thread_id)
        time.clock_gettime(clock)
    except (AttributeError, OSError):
        return time.monotonic
    return lambda: time.clock_gettime(clock)


def _resident_bytes() -> int:
    """The process's resident memory (0 where /proc cannot tell: no memory cap then)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


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

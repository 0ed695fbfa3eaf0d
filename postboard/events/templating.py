"""Notification templates: sandboxed Jinja2 filled in from an event payload."""

from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from functools import lru_cache
from traceback import walk_tb
from types import TracebackType
from typing import Any

from jinja2 import DictLoader, StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import do_replace, sync_do_join
from jinja2.nodes import EvalContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import missing, pass_eval_context

MAX_OUTPUT = 100_000
# Loop iterations plus calls per render: enough for a long order, not for a runaway template.
MAX_STEPS = 100_000
# Filters and text methods that build text of a size the template chooses.
_SIZING_FILTERS = ("center", "indent", "batch", "slice", "format", "wordwrap")
_SIZING_STR_METHODS = {"format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs", "join", "replace"}
_SIZED = (str, list, tuple)
_LOADING_TAGS: tuple[type[nodes.Node], ...] = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
_CHECKED_NODES: tuple[type[nodes.Node], ...] = (nodes.Getattr, nodes.Getitem, *_LOADING_TAGS)


class TemplateProblem(ValueError):
    """A template that can't be saved or rendered, with where and why."""

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.field = message, line, field

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.field, f"line {self.line}" if self.line else None) if part)
        return f"{where}: {self.message}" if where else self.message


# One mutable counter per render, so concurrent renders (threads, tasks) don't share a budget.
_steps_left: ContextVar[list[int] | None] = ContextVar("template_steps_left", default=None)


def _spend(steps: int) -> None:
    left = _steps_left.get()
    if left is not None:
        left[0] -= steps
        if left[0] < 0:
            raise TemplateProblem(f"too much work: more than {MAX_STEPS} loop steps and calls")


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    """Wraps every `{% for %}` iterable so that nested loops can't run forever."""
    for item in items:
        _spend(1)
        yield item


def _sized(value: Any, *more: Any) -> Any:
    """Wraps every `~` operand and `{{ }}` output so that text can't double its way to gigabytes."""
    if any(isinstance(each, _SIZED) and len(each) > MAX_OUTPUT for each in (value, *more)):
        raise SecurityError(f"a value longer than {MAX_OUTPUT} characters or items")
    return value


# Jinja's join and replace, refusing to build text past the output limit.
@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    if len(str(d)) * len(items) > MAX_OUTPUT:
        raise SecurityError(f"joining past {MAX_OUTPUT} characters")
    return sync_do_join(eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    text = str(s)
    hits = text.count(str(old)) if old else len(text) + 1
    if len(text) + hits * len(str(new)) > MAX_OUTPUT:
        raise SecurityError(f"replacing past {MAX_OUTPUT} characters")
    return do_replace(eval_ctx, s, old, new, count)


class _MissingField(StrictUndefined):
    """Strict undefined whose errors speak of payload fields."""

    @property
    def _undefined_message(self) -> str:
        name, owner = self._undefined_name, self._undefined_obj
        if self._undefined_hint:
            return self._undefined_hint
        if owner is missing:
            return f"payload has no field {name!r}"
        if isinstance(owner, Mapping):
            keys = ", ".join(str(key) for key in list(owner)[:10])
            return f"no field {name!r} here ({'this object has: ' + keys if keys else 'this object is empty'})"
        if isinstance(owner, list | tuple):
            return f"no item {name!r} (the list has {len(owner)})"
        return f"a {type(owner).__name__} value has no field {name!r}"


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing operations that make text or numbers of any size."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _SIZING_STR_METHODS:
            raise SecurityError(f"text's .{attr}() (it can build text of any size: use |replace, |join or ~)")
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        # str.format goes to is_safe_attribute, which refuses it: `{:>999999999}` is a memory bomb.
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting of text (join with ~ instead)")
        if operator == "+":
            _sized(left, right)
        if isinstance(left, int) and isinstance(right, int):
            bits = left.bit_length() + right.bit_length() if operator == "*" else left.bit_length() * right
            if operator in ("*", "**") and bits > 10_000:
                raise SecurityError("a number of more than 3000 digits")
        elif operator == "*":
            repeated, times = (right, left) if isinstance(left, int) else (left, right)
            if isinstance(repeated, _SIZED) and isinstance(times, int) and len(repeated) * times > MAX_OUTPUT:
                raise SecurityError(f"repeating a value past {MAX_OUTPUT} characters or items")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        if __obj is _counted or __obj is _sized:
            return __obj(*args)
        _spend(1 + sum(len(arg) for arg in args if isinstance(arg, list | tuple | dict)))
        return super().call(__context, __obj, *args, **kwargs)


def _environment(*, autoescape: bool) -> _Sandbox:
    # An empty loader: a template never loads another (no files, no database, no I/O).
    env = _Sandbox(loader=DictLoader({}), undefined=_MissingField, autoescape=autoescape, finalize=_sized)
    # Payload fields, not Jinja's helpers (cycler, joiner, lipsum, namespace, dict), fill a template.
    env.globals = {"range": safe_range}
    kept = {name: function for name, function in env.filters.items() if name not in _SIZING_FILTERS}
    env.filters = kept | {"join": _join, "replace": _replace}
    return env


_ENVIRONMENTS = {False: _environment(autoescape=False), True: _environment(autoescape=True)}


def _internal_use(node: nodes.Node) -> str | None:
    """What a node reaches for that the sandbox would refuse at send time, if anything."""
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return f"'.{node.attr}' (names starting with '_' are internal)"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("__"):
        return f"[{node.arg.value!r}] (names starting with '__' are internal)"
    if isinstance(node, _LOADING_TAGS):
        tag = type(node).__name__.lower().removeprefix("from")
        return f"{{% {tag} %}} (a template can't load other templates)"
    return None


def _guard(tree: nodes.Template) -> nodes.Template:
    """Route loops and `~` operands through the work and size limits."""

    def wrap(guard: str, expr: nodes.Node) -> nodes.Expr:
        return nodes.Call(nodes.ImportedName(f"{__name__}.{guard}"), [expr], [], None, None, lineno=expr.lineno)

    for loop in tree.find_all(nodes.For):
        loop.iter = wrap("_counted", loop.iter)
    for concat in tree.find_all(nodes.Concat):
        concat.nodes = [wrap("_sized", part) for part in concat.nodes]
    return tree


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool) -> Template:
    env = _ENVIRONMENTS[autoescape]
    tree = env.parse(source)
    for node in tree.find_all(_CHECKED_NODES):
        if reason := _internal_use(node):
            raise TemplateProblem(f"not allowed: {reason}", line=node.lineno)
    return env.template_class.from_code(env, env.compile(_guard(tree)), env.make_globals(None))


def _template(source: str, *, autoescape: bool, field: str) -> Template:
    try:
        return _compiled(source, autoescape)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(_explain(exc), line=exc.lineno, field=field) from exc
    except TemplateProblem as problem:
        raise _in_field(problem, field) from problem


def _in_field(problem: TemplateProblem, field: str, line: int | None = None) -> TemplateProblem:
    return TemplateProblem(problem.message, line=problem.line or line, field=field)


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line an error happened on (Jinja rewrites tracebacks to point at it)."""
    lines = [line for frame, line in walk_tb(traceback) if frame.f_code.co_filename == "<template>"]
    return lines[-1] if lines else None


def _explain(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "a macro or loop calls itself too deeply"
    text = (exc.message if isinstance(exc, TemplateSyntaxError) else None) or str(exc)
    text = text.strip().rstrip(".") or type(exc).__name__
    return f"not allowed: {text}" if isinstance(exc, SecurityError) else text


def check_template(source: str, *, field: str = "body") -> None:
    """Raise TemplateProblem if `source` would not compile or reaches for internals."""
    _template(source, autoescape=False, field=field)


def render(source: str, payload: Mapping[str, Any], *, field: str = "body", autoescape: bool = False) -> str:
    """Render `source` with the payload's fields, or raise TemplateProblem saying why not."""
    template = _template(source, autoescape=autoescape, field=field)
    context = {key: value for key, value in payload.items() if isinstance(key, str)}
    token = _steps_left.set([MAX_STEPS])
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateProblem(f"the text is longer than {MAX_OUTPUT} characters")
            parts.append(chunk)
    except TemplateProblem as problem:
        raise _in_field(problem, field, _template_line(problem.__traceback__)) from problem
    except Exception as exc:
        # Whatever a template does wrong (1/0, 'a' + 1, a sandbox refusal) is its author's to fix, never a crash.
        raise TemplateProblem(_explain(exc), line=_template_line(exc.__traceback__), field=field) from exc
    finally:
        _steps_left.reset(token)
    return "".join(parts)


def variables(source: str) -> set[str]:
    """The top-level payload fields `source` uses; none while it doesn't parse (check_template says why)."""
    env = _ENVIRONMENTS[False]
    try:
        return set(meta.find_undeclared_variables(env.parse(source))) - set(env.globals)
    except TemplateSyntaxError:
        return set()

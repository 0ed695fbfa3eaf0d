"""Templates: payload interpolation, errors with their line, and a sandbox that neither leaks nor runs away."""

import time
from typing import Any

import pytest

from postboard.events import templating
from postboard.events.templating import MAX_OUTPUT, TemplateProblem, check_template, render, variables

ORDER = {
    "customer_name": "Ada",
    "order": {"id": 7, "total": 149.456, "coupon": None},
    "items": [{"name": "Lamp", "sku": "L-1"}, {"name": "Desk", "sku": "D-2"}],
    "tags": ["new", "vip"],
}


def problem_of(source: str, payload: dict[str, Any] | None = None, **options: Any) -> TemplateProblem:
    with pytest.raises(TemplateProblem) as caught:
        render(source, ORDER if payload is None else payload, **options)
    return caught.value


# --- rendering -------------------------------------------------------------------------------------------


def test_interpolates_top_level_and_nested_fields() -> None:
    text = render("Hi {{ customer_name }}, order #{{ order.id }}: {{ items[0].name }} and {{ items[1]['sku'] }}", ORDER)
    assert text == "Hi Ada, order #7: Lamp and D-2"


def test_everyday_filters_work() -> None:
    source = (
        "{{ customer_name|upper }} {{ order.total|round(2) }} {{ tags|join(', ') }} {{ items|length }}"
        " {{ order.note|default('no note') }} {{ items|map(attribute='sku')|join('/') }} {{ 'abc'|replace('b', 'B') }}"
    )
    assert render(source, ORDER) == "ADA 149.46 new, vip 2 no note L-1/D-2 aBc"


def test_loops_conditions_and_macros_work() -> None:
    source = (
        "{% macro line(item) %}- {{ item.name }}{% endmacro %}"
        "{% for item in items %}{{ line(item) }}{% if not loop.last %}\n{% endif %}{% endfor %}"
        "{% if order.coupon is none %} (no coupon){% endif %}"
    )
    assert render(source, ORDER) == "- Lamp\n- Desk (no coupon)"


def test_a_long_but_honest_template_fits_the_limits() -> None:
    payload = {"rows": [{"n": n, "tags": ["a", "b"]} for n in range(2000)]}
    text = render("{% for row in rows %}{{ row.n }}:{{ row.tags|join(',')|upper }};{% endfor %}", payload)
    assert text.startswith("0:A,B;1:A,B;")
    assert text.endswith("1999:A,B;")


def test_html_is_escaped_only_when_asked() -> None:
    payload = {"name": "<script>x</script>"}
    assert render("{{ name }}", payload) == "<script>x</script>"
    assert render("{{ name }}", payload, autoescape=True) == "&lt;script&gt;x&lt;/script&gt;"


def test_payload_fields_win_over_the_few_globals_left() -> None:
    assert render("{{ range }}-{{ cycler }}", {"range": "r", "cycler": "c"}) == "r-c"
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}", {}) == "012"


def test_compiled_templates_are_cached() -> None:
    source = "{{ customer_name }} (cache probe)"
    render(source, ORDER)
    hits = templating._compiled.cache_info().hits
    render(source, {"customer_name": "Bob"})
    assert templating._compiled.cache_info().hits == hits + 1


def test_payload_keys_that_are_not_text_are_ignored() -> None:
    assert render("{{ a }}", {"a": 1, 2: "two"}) == "1"  # type: ignore[dict-item]


# --- missing fields and runtime errors -------------------------------------------------------------------


def test_missing_field_names_the_field_and_its_line() -> None:
    problem = problem_of("Hello\n\nDear {{ customer_nam }},", field="subject")
    assert problem.message == "payload has no field 'customer_nam'"
    assert (problem.line, problem.field) == (3, "subject")
    assert str(problem) == "subject, line 3: payload has no field 'customer_nam'"


def test_missing_nested_field_lists_what_is_there() -> None:
    problem = problem_of("{{ order.totl }}")
    assert problem.message == "no field 'totl' here (this object has: id, total, coupon)"


def test_missing_list_item_says_how_long_the_list_is() -> None:
    assert problem_of("{{ items[5].name }}").message == "no item 5 (the list has 2)"


def test_field_of_a_missing_field_blames_the_first_missing_one() -> None:
    assert problem_of("{{ customer.address.city }}").message == "payload has no field 'customer'"


def test_undefined_in_a_condition_is_an_error_but_is_defined_works() -> None:
    assert problem_of("{% if vip %}VIP{% endif %}").message == "payload has no field 'vip'"
    assert render("{% if vip is defined %}VIP{% else %}regular{% endif %}", ORDER) == "regular"


def test_error_inside_a_loop_reports_the_loop_line() -> None:
    problem = problem_of("Items:\n{% for item in items %}\n{{ item.price }}\n{% endfor %}")
    assert problem.line == 3
    assert problem.message.startswith("no field 'price' here")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ customer_name + 1 }}", 'can only concatenate str (not "int") to str'),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "a macro or loop calls itself too deeply"),
        ("{{ customer_name.first }}", "a str value has no field 'first'"),
    ],
)
def test_runtime_errors_become_problems(source: str, message: str) -> None:
    assert problem_of(source).message == message


# --- syntax errors, at save time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("Hello\n{{ name }\nBye", 2, "unexpected '}'"),
        ("one\ntwo\nthree {% if x %}", 3, "Unexpected end of template"),
        ("{{ name|no_such_filter }}", 1, "No filter named 'no_such_filter'"),
        ("a\n{% endfor %}", 2, "Encountered unknown tag 'endfor'"),
    ],
)
def test_syntax_errors_carry_their_line(source: str, line: int, message: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        check_template(source, field="body")
    assert caught.value.line == line
    assert caught.value.message.startswith(message)
    assert str(caught.value).startswith(f"body, line {line}: {message}")


def test_render_reports_syntax_errors_too() -> None:
    problem = problem_of("{{ oops", field="subject")
    assert (problem.field, problem.line) == ("subject", 1)


def test_a_good_template_passes_the_check() -> None:
    check_template("Hi {{ customer_name }}{% for i in items %} {{ i.name|title }}{% endfor %}", field="subject")


def test_problem_text_without_a_line_or_field() -> None:
    assert str(TemplateProblem("too long")) == "too long"
    assert str(TemplateProblem("too long", field="body")) == "body: too long"
    assert str(TemplateProblem("x", line=2)) == "line 2: x"
    assert isinstance(TemplateProblem("x"), ValueError)


# --- the sandbox: internals ------------------------------------------------------------------------------

HOSTILE = [
    "{{ ''.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self.__dict__ }}",
    "{{ lipsum.__globals__ }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ self._TemplateReference__context }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ ''['__class__'] }}",
    "{{ order.__class__.__mro__ }}",
    "{{ items.pop.__self__ }}",
    "{% include 'secrets.txt' %}",
    "{% import 'macros.html' as m %}",
    "{% from 'macros.html' import m %}",
    "{% extends 'base.html' %}",
]

RUNTIME_HOSTILE = [
    "{{ ''|attr('__class__') }}",
    "{{ ''['__cl' ~ 'ass__'] }}",
    "{{ ('__cla' ~ 'ss__')|string }}{{ customer_name|attr('__cla' ~ 'ss__') }}",
    "{{ '{0.__class__}'.format(customer_name) }}",
    "{{ '{0.__class__}'.format_map(order) }}",
    "{{ (tags|map('upper')).gi_frame }}",
    "{{ items|map(attribute='__class__')|join }}",
    "{{ tags|sort(attribute='__class__')|join }}",
    "{{ items|selectattr('__class__')|list }}",
    "{{ customer_name|attr('format') }}",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_reaching_for_internals_is_refused_at_save_time(source: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        check_template(source)
    assert caught.value.message.startswith("not allowed: ")
    assert caught.value.line == 1


@pytest.mark.parametrize("source", HOSTILE + RUNTIME_HOSTILE)
def test_reaching_for_internals_is_refused_at_render_time_without_leaking(source: str) -> None:
    problem = problem_of(source)
    assert problem.message.startswith("not allowed: ")
    for leak in ("<class", "<function", "<module", "__builtins__", "os."):
        assert leak not in problem.message


def test_payload_data_cannot_be_changed_by_a_template() -> None:
    payload = {"items": [1, 2], "order": {"id": 1}}
    for source in (
        "{{ items.append(3) }}",
        "{{ items.pop() }}",
        "{{ order.update({'id': 2}) }}",
        "{{ order.clear() }}",
    ):
        assert problem_of(source, payload).message.startswith("not allowed: ")
    assert payload == {"items": [1, 2], "order": {"id": 1}}


def test_jinja_helpers_are_not_there() -> None:
    for name in ("cycler", "joiner", "lipsum", "namespace", "dict"):
        assert problem_of("{{ " + name + "() }}").message == f"payload has no field {name!r}"


def test_text_methods_that_size_their_output_are_refused_with_a_hint() -> None:
    problem = problem_of("{{ customer_name.replace('A', 'B') }}")
    assert problem.message.startswith("not allowed: text's .replace()")
    assert "|replace" in problem.message


# --- the sandbox: resources ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 100000000 }}",
        "{{ 100000000 * [1] }}",
        "{{ 2 ** 100000000 }}",
        "{{ ((9 ** 99) ** 99) ** 99 }}",
        "{{ '%s' % customer_name }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ tags|join('x' * 99999) }}",
        "{{ customer_name|replace('', 'y' * 99999) }}",
        "{% set a = 'x' * 60000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c|length }}",
        "{% set a = 'x' * 60000 %}{% set b = a + a %}{% set c = b + b %}{{ c|length }}",
    ],
)
def test_values_that_would_eat_memory_are_refused(source: str) -> None:
    assert problem_of(source).message.startswith("not allowed: ")


@pytest.mark.parametrize("source", ["{{ 'x'|center(1000000000) }}", "{{ tags|batch(1000000000, 'x') }}"])
def test_filters_that_size_their_output_do_not_exist(source: str) -> None:
    with pytest.raises(TemplateProblem, match="No filter named"):
        check_template(source)


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for a in rows %}{% for b in rows %}{% for c in rows %}{% endfor %}{% endfor %}{% endfor %}",
        "{% macro d(n) %}{% if n %}{{ d(n - 1) }}{{ d(n - 1) }}{% endif %}{% endmacro %}{{ d(40) }}",
    ],
)
def test_runaway_work_stops_quickly(source: str) -> None:
    started = time.perf_counter()
    problem = problem_of(source, {"rows": list(range(1000))})
    assert problem.message.startswith("too much work")
    assert time.perf_counter() - started < 10


def test_huge_range_is_refused() -> None:
    assert "too big" in problem_of("{{ range(1000000000)|list }}").message


def test_output_is_capped() -> None:
    problem = problem_of("{% for i in range(200) %}{{ 'x' * 1000 }}{% endfor %}", field="body")
    assert problem.message == f"the text is longer than {MAX_OUTPUT} characters"
    assert render("{{ 'x' * 99999 }}", {}) == "x" * 99999


# --- variables -------------------------------------------------------------------------------------------


def test_variables_lists_top_level_payload_fields_only() -> None:
    source = (
        "{{ customer_name }} {{ order.total }}{% for item in items %}{{ item.name }}{{ loop.index }}{% endfor %}"
        "{% set shown = 1 %}{{ shown }}{% for i in range(2) %}{{ i }}{% endfor %}{{ coupon|default('-') }}"
    )
    assert variables(source) == {"customer_name", "order", "items", "coupon"}


def test_variables_of_a_broken_template_is_empty() -> None:
    assert variables("{{ customer_name }") == set()

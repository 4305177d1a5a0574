"""`{{variable}}` templates: parsing, rendering and missing variables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import MissingTemplateVariable
from domain.messaging.templates import Template


@pytest.mark.parametrize(
    ("body", "variables", "expected"),
    [
        ("Hi {{name}}!", {"name": "Ama"}, "Hi Ama!"),
        ("Hi {{ name }}!", {"name": "Ama"}, "Hi Ama!"),
        ("Hi {{\tname  }}!", {"name": "Ama"}, "Hi Ama!"),
        ("{{a}}{{b}}", {"a": 1, "b": 2}, "12"),
        ("{{a}} and {{a}}", {"a": "x"}, "x and x"),
        (
            "Order {{order.id}} costs {{amount}}",
            {"order.id": 42, "amount": 1.5},
            "Order 42 costs 1.5",
        ),
        ("{{_private}} {{x1}}", {"_private": "p", "x1": None}, "p None"),
        ("Code: {{code}}", {"code": "{{name}}"}, "Code: {{name}}"),  # values are not re-parsed
        ("Use { and } freely, {{name}}", {"name": "Kofi"}, "Use { and } freely, Kofi"),
        ("Unclosed {{name and {{ more", {}, "Unclosed {{name and {{ more"),
        ("Half {{name} and {name}}", {"name": "x"}, "Half {{name} and {name}}"),
        ("Not a name {{1abc}} {{a-b}} {{}} {{ }}", {}, "Not a name {{1abc}} {{a-b}} {{}} {{ }}"),
        ("Triple {{{name}}}", {"name": "x"}, "Triple {x}"),
        ("{0} {} %s {name}", {}, "{0} {} %s {name}"),  # no accidental str.format
        (
            "Extra variables are ignored: {{a}}",
            {"a": "ok", "b": "unused"},
            "Extra variables are ignored: ok",
        ),
        ("", {}, ""),
    ],
)
def test_render(body: str, variables: dict[str, object], expected: str) -> None:
    assert Template.parse(body).render(variables) == expected


def test_placeholders() -> None:
    template = Template.parse("{{ b }} {{a}} {{b}} {{c.d}} {{1x}}")
    assert template.placeholders == frozenset({"a", "b", "c.d"})
    assert Template.parse("no placeholders").placeholders == frozenset()


def test_missing_variables_are_all_listed_sorted() -> None:
    template = Template.parse("{{zeta}} {{alpha}} {{present}} {{alpha}} {{mid}}")
    with pytest.raises(MissingTemplateVariable) as raised:
        template.render({"present": "here"})
    error = raised.value
    assert error.code == "MISSING_VARIABLE"
    assert error.details == {"missing": ["alpha", "mid", "zeta"]}


def test_str_of_value_is_substituted() -> None:
    class Custom:
        def __str__(self) -> str:
            return "custom!"

        def __format__(self, spec: str) -> str:
            return "formatted"

    assert Template.parse("{{v}}").render({"v": Custom()}) == "custom!"


def test_template_without_placeholders_returns_its_body_object() -> None:
    body = "Reply STOP to opt out"
    assert Template.parse(body).render({}) is body


def test_template_is_reusable_and_compares_by_body() -> None:
    template = Template.parse("Hi {{name}}")
    assert [template.render({"name": n}) for n in ("A", "B")] == ["Hi A", "Hi B"]
    assert template == Template.parse("Hi {{name}}")
    assert hash(template) == hash(Template.parse("Hi {{name}}"))
    assert template != Template.parse("Hi {{ name }}")


@given(body=st.text().filter(lambda text: "{{" not in text))
def test_text_without_placeholders_renders_unchanged(body: str) -> None:
    template = Template.parse(body)
    assert template.placeholders == frozenset()
    assert template.render({}) == body


@given(
    literals=st.lists(
        st.text(alphabet=st.characters(exclude_characters="{}")), min_size=1, max_size=5
    ),
    values=st.lists(st.text(), min_size=5, max_size=5),
)
def test_render_substitutes_every_placeholder(literals: list[str], values: list[str]) -> None:
    names = [f"v{index}" for index in range(len(literals) - 1)]
    body = "".join(
        literal + ("{{" + name + "}}" if index < len(names) else "")
        for index, (literal, name) in enumerate(zip(literals, [*names, ""], strict=True))
    )
    variables = dict(zip(names, values, strict=False))
    expected = "".join(
        literal + (variables[name] if name else "")
        for literal, name in zip(literals, [*names, ""], strict=True)
    )
    assert Template.parse(body).render(variables) == expected

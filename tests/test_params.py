"""Parameters are declared once and parsed by their declared type everywhere."""

import pytest

from ganzoo import Param, ParameterError
from ganzoo.registry.params import resolve_params


@pytest.mark.parametrize(
    "tp, text, expected",
    [
        (int, "3", 3),
        (float, "0.5", 0.5),
        (float, "2", 2.0),
        (bool, "true", True),
        (bool, "No", False),
        (str, "tanh", "tanh"),
        (list[int], "256,512", [256, 512]),
        (list[int], "[128]", [128]),
        (list[float], "0.5, 0.999", [0.5, 0.999]),
    ],
)
def test_parse_by_declared_type(tp, text, expected):
    assert Param("x", tp, None, "help").parse(text) == expected


@pytest.mark.parametrize(
    "tp, text", [(int, "3.5"), (int, "many"), (float, "fast"), (bool, "maybe"), (list[int], "256,abc")]
)
def test_bad_text_is_a_parameter_error_naming_the_type(tp, text):
    with pytest.raises(ParameterError, match=r"parameter 'x' expects"):
        Param("x", tp, None, "help").parse(text)


def test_coerce_checks_native_values_from_toml():
    widths = Param("hidden", list[int], [1], "h")
    assert widths.coerce([3, 4]) == [3, 4]
    with pytest.raises(ParameterError, match="expects list\\[int\\]"):
        widths.coerce(5)  # a number where a list is expected
    with pytest.raises(ParameterError):
        Param("lr", float, 0.1, "h").coerce([0.1])  # a list where a number is expected
    with pytest.raises(ParameterError):
        Param("n", int, 1, "h").coerce(True)  # bools are not ints here


def test_choices_are_enforced():
    p = Param("output", str, "auto", "h", choices=("auto", "tanh"))
    assert p.parse("tanh") == "tanh"
    with pytest.raises(ParameterError, match="choose one of: auto, tanh"):
        p.parse("sigmoid")


def test_none_is_allowed_only_for_optional_params():
    assert Param("digits", list[int], None, "h").parse("none") is None
    with pytest.raises(ParameterError):
        Param("n", int, 3, "h").parse("none")


def test_resolve_fills_defaults_and_suggests_names():
    declared = (Param("hidden", list[int], [8], "h"), Param("slope", float, 0.2, "s"))
    assert resolve_params(declared, {"slope": 0.1}, "generator 'g'") == {"hidden": [8], "slope": 0.1}
    with pytest.raises(ParameterError, match="generator 'g' has no parameter 'hiden'; did you mean 'hidden'"):
        resolve_params(declared, {"hiden": [1]}, "generator 'g'")


def test_a_bad_declaration_fails_early():
    with pytest.raises(TypeError):
        Param("x", dict, None, "h")
    with pytest.raises(ParameterError):
        Param("x", int, "three", "h")

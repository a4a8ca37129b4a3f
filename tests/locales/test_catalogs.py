"""The catalogs keep up with the code: every message the code says is in every shipped
catalog, each translation keeps its placeholders, and every path to a user error says a
message that can be translated (a literal or a `Message`, never text built on the spot)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from app import locales
from app.domain.messages import Message
from app.locales import catalogs

APP = Path(catalogs.SOURCES)
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogs.extract()


@pytest.mark.parametrize("locale", locales.MESSAGE_LOCALES)
def test_every_message_the_code_says_is_in_the_catalog(template: Catalog, locale: str) -> None:
    missing = catalogs.missing(locale, template)
    assert not missing, (
        f"{len(missing)} message(s) the code says have no translation in "
        f"{catalogs.catalog_path(locale).relative_to(APP.parent)}:\n"
        + "".join(f"    msgid {m!r}\n" for m in missing)
        + f"Run `{catalogs.UPDATE_COMMAND}` (it adds them with an empty msgstr), then "
        "write each msgstr; keep every %(name)s placeholder."
    )


@pytest.mark.parametrize("locale", locales.MESSAGE_LOCALES)
def test_every_translation_keeps_the_placeholders_of_its_message(locale: str) -> None:
    broken = [
        f"{m.id!r} -> {m.string!r}"
        for m in catalogs.read(locale)
        if m.id
        and m.string
        and sorted(set(_PLACEHOLDER.findall(str(m.id))))
        != sorted(set(_PLACEHOLDER.findall(str(m.string))))
    ]
    assert broken == []


@pytest.mark.parametrize("locale", locales.LOCALES)
def test_every_message_of_the_code_is_said_in_every_shipped_locale(
    template: Catalog, locale: str
) -> None:
    """Each message, filled with values, renders in each locale: a translated template
    that lost a value or broke the %-format would show up here."""
    for message in template:
        if not message.id:
            continue
        msgid = str(message.id)
        params = {name: f"<{name}>" for name in _PLACEHOLDER.findall(msgid)}
        said = locales.translate(Message(msgid, **params), locale)
        assert said.strip(), msgid
        for value in params.values():
            assert value in said, (locale, msgid, said)
        if locale in locales.MESSAGE_LOCALES and msgid != said:
            assert said == locales.translations(locale).gettext(msgid) % params


# -- every path to a user error says a translatable message ------------------------------


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _message_argument(call: ast.Call, position: int) -> ast.expr | None:
    if len(call.args) >= position and not isinstance(call.args[position - 1], ast.Starred):
        return call.args[position - 1]
    return next((k.value for k in call.keywords if k.arg == "message"), None)


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef]:
    owner: dict[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                owner[node] = function  # inner functions walk later and win
    return owner


def _is_message(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) == "Message"


def _translatable(
    argument: ast.expr,
    function: ast.FunctionDef | ast.AsyncFunctionDef | None,
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
) -> bool:
    """A literal (extracted), a Message (extracted), or a message passed along: a
    parameter, an exception's text, or a local value or helper that only makes Messages."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return True
    if _is_message(argument):
        return True
    if isinstance(argument, ast.Attribute) and argument.attr == "message":
        return True  # another error's message, passed on
    if isinstance(argument, ast.Call) and _name(argument.func) == "str":
        return True  # an exception's message (its raise is checked where it is raised)
    if isinstance(argument, ast.Subscript):
        return True  # a message kept in a cache or table of messages
    if isinstance(argument, ast.Name) and function is not None:
        parameters = {a.arg for a in (*function.args.args, *function.args.kwonlyargs)}
        looped = {
            t.id
            for node in ast.walk(function)
            if isinstance(node, ast.For)
            for t in ast.walk(node.target)
            if isinstance(t, ast.Name)
        }
        if argument.id in parameters | looped:
            return True  # passed in, or taken from a table of messages
        assigned = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == argument.id for t in node.targets)
        ]
        return bool(assigned) and all(_is_message(v) for v in assigned)
    if isinstance(argument, ast.Call) and _name(argument.func) in functions:
        returns = [
            n.value
            for n in ast.walk(functions[str(_name(argument.func))])
            if isinstance(n, ast.Return)
        ]
        return bool(returns) and all(_is_message(v) for v in returns)
    return False


def untranslatable_messages(root: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        owners = _enclosing_functions(tree)
        functions = {
            f.name: f
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _name(call.func) not in catalogs.KEYWORDS:
                continue
            position = catalogs.KEYWORDS[str(_name(call.func))][0]
            argument = _message_argument(call, position)
            if argument is None or _translatable(argument, owners.get(call), functions):
                continue
            where = path.relative_to(root.parent)
            found.append(f"{where}:{call.lineno}: {ast.unparse(argument)[:80]}")
    return found


def test_every_user_error_path_says_a_message_that_can_be_translated() -> None:
    found = untranslatable_messages(APP)
    assert found == [], (
        "These messages are built on the spot (an f-string, + or .format), so no catalog "
        "can hold them. Write a template with named values instead, e.g. "
        "Message(\"'%(value)s' is not a web address\", value=value), then run "
        f"`{catalogs.UPDATE_COMMAND}` and translate:\n" + "\n".join(found)
    )


def test_the_path_check_sees_a_message_built_on_the_spot(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "rules.py").write_text(
        "def check(value, error):\n"
        "    raise validation(f'{value} is wrong', 'field')\n"
        "def fine(value, error, message):\n"
        "    validation('a literal', 'f'); validation(message, 'f'); validation(str(error))\n"
        "    validation(Message('%(v)s is wrong', v=value), 'field')\n"
        "    text = Message('made here'); conflict(text)\n"
        "    text2 = 'not extracted'; conflict(text2)\n"
    )
    assert [f.split(": ", 1)[1] for f in untranslatable_messages(root)] == [
        "f'{value} is wrong'",
        "text2",
    ]


def test_pybabel_extracts_with_the_same_keywords_as_the_update_command() -> None:
    import tomllib

    config = tomllib.loads((APP.parent / "pyproject.toml").read_text())
    given = config["tool"]["babel"]["extract_messages"]["keywords"].split()
    keywords = {k.partition(":")[0]: int(k.partition(":")[2] or 1) for k in given}
    assert keywords == {name: spec[0] for name, spec in catalogs.KEYWORDS.items()}


def test_the_catalogs_are_package_data() -> None:
    import tomllib

    config = tomllib.loads((APP.parent / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["app.locales"]
    for locale in locales.MESSAGE_LOCALES:
        path = catalogs.catalog_path(locale).relative_to(locales.DIRECTORY)
        assert any(path.match(p) for p in patterns), path

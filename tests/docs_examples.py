"""The GraphQL examples of the user docs, read the same way by every test that checks them
(valid against the schema, run on demo data, turned into client types): each ```graphql
block of README.md and docs/*.md is an executable document."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from graphql import DocumentNode, NameNode, OperationDefinitionNode, parse, print_ast

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
API_MD = ROOT / "docs" / "api.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
"""Every page of the user docs."""

_BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Example:
    """One ```graphql block: where it is, and its text."""

    path: Path
    line: int
    """The line of the opening fence."""
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def examples(path: Path, section: str | None = None) -> list[Example]:
    """The ```graphql blocks of a page, or of its `## section` (up to the next `## `)."""
    text = path.read_text()
    start, end = 0, len(text)
    if section is not None:
        start = text.index(f"\n{section}\n") + 1
        following = text.find("\n## ", start + len(section))
        end = following if following != -1 else end
    return [
        Example(path, text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in _BLOCK.finditer(text, start, end)
    ]


def every_example() -> list[Example]:
    """The examples of every page of the user docs."""
    return [example for page in DOCS for example in examples(page)]


def named(example: Example) -> DocumentNode:
    """The example with a name for each anonymous operation, made from where it is
    (`ApiLine61`, `ApiLine61Part2`…): code generators name their types after operations, and
    skip (or refuse) anonymous ones."""
    document = parse(example.text)
    stem = "".join(part.title() for part in re.split(r"[^a-zA-Z0-9]+", example.path.stem))
    definitions = []
    for index, definition in enumerate(document.definitions):
        if isinstance(definition, OperationDefinitionNode) and definition.name is None:
            suffix = "" if index == 0 else f"Part{index + 1}"
            name = NameNode(value=f"{stem}Line{example.line}{suffix}")
            definition = replace(definition, name=name)
        definitions.append(definition)
    return replace(document, definitions=tuple(definitions))


def named_text(example: Example) -> str:
    return print_ast(named(example))

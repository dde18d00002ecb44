"""A tiny DOM over the standard library's html.parser, enough to read tables and ids in a digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"br", "meta", "img", "hr", "input", "link", "col", "area", "base", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None

    def text(self) -> str:
        parts: list[str] = []
        for c in self.children:
            parts.append(c if isinstance(c, str) else " " + c.text() + " ")
        return " ".join("".join(parts).split())

    def iter(self) -> list[Node]:
        out: list[Node] = []
        for c in self.children:
            if isinstance(c, Node):
                out.append(c)
                out.extend(c.iter())
        return out

    def find_all(self, tag: str) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag]

    def by_id(self, id_: str) -> Node:
        found = [n for n in self.iter() if n.attrs.get("id") == id_]
        assert len(found) == 1, f"{len(found)} elements with id {id_!r}"
        return found[0]

    def has_id(self, id_: str) -> bool:
        return any(n.attrs.get("id") == id_ for n in self.iter())

    def rows(self) -> list[Node]:
        """The rows of this table, not of tables nested in it."""
        return [n for n in self.find_all("tr") if _nearest_table(n) is self]

    def cells(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node) and c.tag in ("td", "th")]

    def table(self) -> list[list[str]]:
        return [[c.text() for c in row.cells()] for row in self.rows()]


def _nearest_table(node: Node) -> Node | None:
    p = node.parent
    while p is not None and p.tag != "table":
        p = p.parent
    return p


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), parent=self.current)
        self.tags.append((tag, dict(attrs)))
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.current.children.append(Node(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"stray </{tag}>"
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> tuple[Node, list[tuple[str, dict[str, str | None]]]]:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, f"unclosed <{builder.current.tag}>"
    return builder.root, builder.tags

"""Attribute selectors: JSON pointers with array wildcards and item predicates.

A selector such as ``/labels/*[labelingSubject=SeparateCollection]`` names the part of a
category payload that holds one longlist attribute. ``project`` copies out of a payload only
what a set of selectors reaches, so a reader is shown what is allowed and nothing by omission.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_PREDICATE = re.compile(r"^\*\[(?P<field>[A-Za-z0-9_]+)=(?P<value>[^\]]+)\]$")


@dataclass(frozen=True)
class Step:
    key: str | None = None  # object member; None for an array step
    field: str | None = None  # array predicate field, if any
    value: Any = None

    def admits(self, item: Any) -> bool:
        return self.field is None or (isinstance(item, dict) and item.get(self.field) == self.value)


@dataclass(frozen=True)
class Selector:
    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> Selector:
        if not text.startswith("/"):
            raise ValueError(f"selector {text!r} must start with '/'")
        steps = []
        for raw in text[1:].split("/"):
            segment = raw.replace("~1", "/").replace("~0", "~")
            if segment == "*":
                steps.append(Step())
            elif match := _PREDICATE.match(segment):
                value_text = match["value"]
                try:
                    value = json.loads(value_text)
                except ValueError:
                    value = value_text
                steps.append(Step(field=match["field"], value=value))
            elif segment.startswith("*"):
                raise ValueError(f"selector {text!r}: bad array step {segment!r}")
            else:
                steps.append(Step(key=segment))
        return cls(text=text, steps=tuple(steps))

    def matches(self, document: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
        """Yield (path, value) for each place in ``document`` this selector reaches."""
        yield from _walk(document, self.steps, ())

    def schema_path(self) -> str:
        """The selector with predicates dropped: the shape of the paths it can reach."""
        return "/" + "/".join("*" if s.key is None else s.key for s in self.steps)


def _walk(node: Any, steps: tuple[Step, ...], path: tuple) -> Iterator[tuple[tuple, Any]]:
    if not steps:
        yield path, node
        return
    step, rest = steps[0], steps[1:]
    if step.key is not None:
        if isinstance(node, dict) and step.key in node:
            yield from _walk(node[step.key], rest, (*path, step.key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if step.admits(item):
                yield from _walk(item, rest, (*path, index))


def project(document: dict, selectors: Iterable[Selector]) -> dict:
    """A copy of ``document`` holding only what ``selectors`` reach.

    Array items keep their relative order; items no selector reaches are dropped.
    """
    # Arrays are built as {original index: item} first, so that two selectors reaching
    # different members of the same item land in one output item.
    tree: dict = {}
    for selector in selectors:
        for path, value in selector.matches(document):
            _place(tree, document, path, value)
    return _freeze(tree)


class _ArrayDraft(dict):
    pass


@dataclass(frozen=True)
class _Whole:
    value: Any


def _place(tree: dict, document: Any, path: tuple, value: Any) -> None:
    node, source = tree, document
    for position, key in enumerate(path):
        if isinstance(node.get(key), _Whole):
            return  # an enclosing selector already reached all of it
        if position == len(path) - 1:
            node[key] = _Whole(value)
            return
        source = source[key]
        if key not in node:
            node[key] = _ArrayDraft() if isinstance(source, list) else {}
        node = node[key]


def _freeze(node: Any) -> Any:
    if isinstance(node, _Whole):
        return copy.deepcopy(node.value)
    if isinstance(node, _ArrayDraft):
        return [_freeze(node[index]) for index in sorted(node)]
    if isinstance(node, dict):
        return {key: _freeze(child) for key, child in node.items()}
    return node


def leaf_paths(document: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every scalar in ``document`` with its path (empty containers count as leaves)."""
    if isinstance(document, dict) and document:
        for key, child in document.items():
            yield from leaf_paths(child, (*path, key))
    elif isinstance(document, list) and document:
        for index, child in enumerate(document):
            yield from leaf_paths(child, (*path, index))
    else:
        yield path, document


def pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer of a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"

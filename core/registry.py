"""One table per kind of part (verifiers, retrievers, LLM backends, sentence splitters).

An entry maps a short name to a factory, named as ``"module:attribute"`` and imported only when
the part is built, and a one-line description. The command line takes its choices and ``--help``
text from these tables, and the benchmarks their lists of parts, so no list of names is typed
twice, and listing the parts costs no import. Adding a part is one new file and one ``add`` call
in its package's ``registry.py``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@dataclass(frozen=True)
class Entry:
    name: str
    factory: str  # "package.module:callable", imported on first use
    description: str  # one line, shown in --help
    options: tuple[str, ...] = ()  # keyword options the factory takes beyond its kind's contract

    def takes(self, option: str) -> bool:
        return option in self.options

    def load(self) -> Callable[..., Any]:
        module, _, attribute = self.factory.partition(":")
        return getattr(importlib.import_module(module), attribute)


class Registry:
    """Named factories of one kind of part, in the order they were added."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # e.g. "retriever", used in messages
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, factory: str, description: str, options: tuple[str, ...] = ()) -> Entry:
        if name in self._entries:
            raise ValueError(f"a {self.kind} named {name!r} is already registered ({self._entries[name].factory})")
        if ":" not in factory:
            raise ValueError(f"{self.kind} {name!r}: write the factory as 'package.module:callable', not {factory!r}")
        self._entries[name] = entry = Entry(name, factory, description, tuple(options))
        return entry

    def remove(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}: choose one of {', '.join(self._entries)}")
        return self._entries[name]

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build the part ``name`` with the factory's own arguments."""
        return self.get(name).load()(*args, **kwargs)

    def help(self) -> str:
        """``name: description`` for every entry, for a command's --help."""
        return "; ".join(f"{e.name}: {e.description}" for e in self)

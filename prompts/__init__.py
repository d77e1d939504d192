"""Prompt files: one file per prompt, variables declared in its header, rendered strictly.

A prompt file ``prompts/<name>.prompt`` looks like::

    # description: what the prompt is for
    # variables: question, passages
    # request: chat
    # answer: text
    [system]
    You answer with citations.
    [user]
    Question: {{question}}
    [assistant]
    ...few-shot reply...
    [user]
    {{passages}}

Header lines start with ``#``; ``[system]``, ``[user]`` and ``[assistant]`` start messages.
``request`` is how it is sent: ``chat`` (the messages) or ``completion`` (one text; a file with no
roles is one plain completion prompt). ``answer`` names the reply's format, and so its parser
(``prompts/answers.py``); ``choices`` (``A | B | C``), where given, are the replies an engine may
be constrained to. ``{{name}}`` is a variable; rendering fails on a missing, unknown or undeclared
variable, so a typo never reaches a model. ``Prompt.request`` builds the generation request for
every prompt, and ``Prompt.parse`` reads its reply.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from citeline.core.generation import GenerationRequest, Message, StructuredOutput
from citeline.prompts.answers import ANSWER_FORMATS

_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_ROLE = re.compile(r"^\[(system|user|assistant)\]\s*$")
REQUEST_FORMS = ("chat", "completion")


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str
    variables: tuple[str, ...]
    messages: tuple[tuple[str, str], ...]  # (role, template); role "" for a completion prompt
    request_form: str = "chat"  # "chat" | "completion"
    answer: str = "text"  # a name in ANSWER_FORMATS
    choices: tuple[str, ...] = ()  # the replies an engine may be constrained to

    def render(self, **values: object) -> list[tuple[str, str]]:
        """(role, text) pairs with every variable filled in."""
        missing = [v for v in self.variables if v not in values]
        unknown = [v for v in values if v not in self.variables]
        if missing or unknown:
            raise PromptError(f"prompt {self.name!r} needs variables {list(self.variables)}; "
                              f"missing {missing}, unknown {unknown}")
        fill = lambda m: str(values[m.group(1)])  # noqa: E731
        return [(role, _VARIABLE.sub(fill, text)) for role, text in self.messages]

    def render_text(self, **values: object) -> str:
        """The rendered prompt as one string (for completion-style engines)."""
        return "\n\n".join(text for _, text in self.render(**values))

    def request(self, *, max_tokens: int = 256, temperature: float = 0.0, seed: int | None = None,
                stop: tuple[str, ...] = (), logprobs: int | None = None, constrained: bool = False,
                **values: object) -> GenerationRequest:
        """The generation request for this prompt filled with ``values``, in its declared form;
        ``constrained`` limits the reply to the prompt's choices (structured output)."""
        if constrained and not self.choices:
            raise PromptError(f"prompt {self.name!r} declares no '# choices:' to constrain the reply to")
        form: dict[str, Any] = ({"messages": tuple(Message(role, text) for role, text in self.render(**values))}
                                if self.request_form == "chat" else {"prompt": self.render_text(**values)})
        return GenerationRequest(**form, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop,
                                 logprobs=logprobs,
                                 structured=StructuredOutput(choice=self.choices) if constrained else None)

    def parse(self, reply: str) -> Any:
        """The reply read by this prompt's answer format (see ``prompts/answers.py``)."""
        return ANSWER_FORMATS[self.answer](reply, self.choices)


def parse_prompt(name: str, source: str) -> Prompt:
    header: dict[str, str] = {}
    messages: list[tuple[str, list[str]]] = []
    lines = source.splitlines()
    while lines and lines[0].startswith("#"):
        key, _, value = lines.pop(0)[1:].partition(":")
        header[key.strip()] = value.strip()
    for line in lines:
        role = _ROLE.match(line)
        if role:
            messages.append((role.group(1), []))
        elif messages:
            messages[-1][1].append(line)
        else:
            messages.append(("", [line]))
    if "variables" not in header:
        raise PromptError(f"prompt {name!r}: header has no '# variables:' line")
    declared = tuple(v.strip() for v in header["variables"].split(",") if v.strip())
    rendered = tuple((role, "\n".join(body).strip("\n")) for role, body in messages)
    used = {m.group(1) for _, text in rendered for m in _VARIABLE.finditer(text)}
    if used != set(declared):
        raise PromptError(f"prompt {name!r}: declares {sorted(declared)} but uses {sorted(used)}")
    form = header.get("request", "chat" if all(role for role, _ in rendered) else "completion")
    if form not in REQUEST_FORMS or (form == "chat" and not all(role for role, _ in rendered)):
        raise PromptError(f"prompt {name!r}: '# request: {form}' must be one of {', '.join(REQUEST_FORMS)}, "
                          f"and a chat prompt needs a [system], [user] or [assistant] line before its text")
    answer = header.get("answer", "text")
    if answer not in ANSWER_FORMATS:
        raise PromptError(f"prompt {name!r}: unknown '# answer: {answer}'; one of {', '.join(ANSWER_FORMATS)}")
    choices = tuple(c.strip() for c in header.get("choices", "").split("|") if c.strip())
    return Prompt(name, header.get("description", ""), declared, rendered, form, answer, choices)


@functools.cache  # a Prompt is immutable: each file is read and parsed once per process
def load_prompt(name: str) -> Prompt:
    """A prompt shipped in this package, by file name without ``.prompt``."""
    path = resources.files(__name__) / f"{name}.prompt"
    if not path.is_file():
        raise PromptError(f"no prompt named {name!r}; available: {', '.join(available_prompts())}")
    return parse_prompt(name, path.read_text(encoding="utf-8"))


def available_prompts() -> list[str]:
    return sorted(Path(str(p)).stem for p in resources.files(__name__).iterdir()
                  if str(p).endswith(".prompt"))

"""Structured output: check a text against a constraint, and spell a constraint for each engine.

Every backend validates its output with ``check`` even when the engine enforced the constraint
itself, because a server that ignores an unknown field answers unconstrained text without a word.
"""

from __future__ import annotations

import json
import re
from typing import Any

from citeline.core.generation import StructuredOutput, StructuredOutputError


def kind(spec: StructuredOutput) -> str:
    """Which constraint is set: "json", "regex" or "choice"; raises unless exactly one is."""
    set_fields = [name for name, value in (("json", spec.json_schema), ("regex", spec.regex),
                                           ("choice", spec.choice)) if value is not None]
    if len(set_fields) != 1:
        raise ValueError(f"StructuredOutput needs exactly one of json_schema, regex, choice; "
                         f"got {set_fields or 'none'}")
    if spec.choice is not None and not spec.choice:
        raise ValueError("StructuredOutput.choice is empty; give at least one option")
    return set_fields[0]


def problem(spec: StructuredOutput, text: str) -> str | None:
    """Why ``text`` breaks the constraint, or None when it obeys it."""
    which = kind(spec)
    if which == "choice":
        return None if text in spec.choice else f"{text!r} is not one of {list(spec.choice)}"
    if which == "regex":
        return None if re.fullmatch(spec.regex, text) else f"{text!r} does not match /{spec.regex}/"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg} at char {error.pos}): {text[:80]!r}"
    import jsonschema  # light, but only needed when JSON output is asked for

    try:
        jsonschema.validate(value, spec.json_schema)
    except jsonschema.ValidationError as error:
        return f"JSON does not fit the schema: {error.message}"
    return None


def check(spec: StructuredOutput | None, text: str, engine: str) -> None:
    """Raise StructuredOutputError when ``text`` breaks ``spec``."""
    if spec is None:
        return
    reason = problem(spec, text)
    if reason:
        raise StructuredOutputError(f"{engine} ignored or broke the {kind(spec)} constraint: {reason}")


def vllm_fields(spec: StructuredOutput) -> dict[str, Any]:
    """The constraint as vLLM's ``structured_outputs`` fields (StructuredOutputsParams / HTTP)."""
    which = kind(spec)
    if which == "choice":
        return {"choice": list(spec.choice)}
    if which == "regex":
        return {"regex": spec.regex}
    return {"json": spec.json_schema}

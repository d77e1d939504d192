"""Every shipped prompt renders with dummy values; wrong variables fail loudly."""

import pytest

from citeline.prompts import PromptError, available_prompts, load_prompt


@pytest.mark.parametrize("name", available_prompts())
def test_every_prompt_renders(name):
    prompt = load_prompt(name)
    assert prompt.description, f"{name}: add a '# description:' header line"
    values = {v: f"<{v}>" for v in prompt.variables}
    turns = prompt.render(**values)
    text = "\n".join(t for _, t in turns)
    assert "{{" not in text
    for v in prompt.variables:
        assert f"<{v}>" in text
    assert all(role in ("", "system", "user", "assistant") for role, _ in turns)


@pytest.mark.parametrize("name", available_prompts())
def test_missing_or_unknown_variable_raises(name):
    prompt = load_prompt(name)
    values = {v: "x" for v in prompt.variables}
    with pytest.raises(PromptError, match="unknown"):
        prompt.render(**values, not_a_variable="x")
    if prompt.variables:
        values.pop(prompt.variables[0])
        with pytest.raises(PromptError, match="missing"):
            prompt.render(**values)


def test_cited_answer_prompt_ends_with_the_user_question():
    turns = load_prompt("cited_answer").render(question="Q?", documents="Document [1]: D")
    assert turns[0][0] == "system" and turns[-1][0] == "user"
    assert "Q?" in turns[-1][1] and "Document [1]: D" in turns[-1][1]


def test_unknown_prompt_names_the_available_ones():
    with pytest.raises(PromptError, match="cited_answer"):
        load_prompt("no_such_prompt")

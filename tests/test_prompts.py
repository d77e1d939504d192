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


@pytest.mark.parametrize("name", available_prompts())
def test_every_prompt_declares_its_request_and_answer_and_builds_a_request(name):
    from importlib import resources

    from citeline.prompts import REQUEST_FORMS
    from citeline.prompts.answers import ANSWER_FORMATS

    header = (resources.files("citeline.prompts") / f"{name}.prompt").read_text().split("\n[", 1)[0]
    assert "# request:" in header and "# answer:" in header, f"{name}: declare '# request:' and '# answer:'"
    prompt = load_prompt(name)
    assert prompt.request_form in REQUEST_FORMS and prompt.answer in ANSWER_FORMATS
    request = prompt.request(max_tokens=7, seed=3, **{v: f"<{v}>" for v in prompt.variables})
    assert request.max_tokens == 7 and request.seed == 3 and request.structured is None
    sent = "\n".join(m.content for m in request.messages) if prompt.request_form == "chat" else request.prompt
    assert all(f"<{v}>" in sent for v in prompt.variables)
    if prompt.choices:  # a constrained reply is one of the prompt's choices, and its parser reads each
        constrained = prompt.request(constrained=True, **{v: "x" for v in prompt.variables})
        assert constrained.structured.choice == prompt.choices
        assert all(prompt.parse(choice) not in (None, "unparsed") for choice in prompt.choices)
        assert all(prompt.parse(choice)[0] != "unparsed" for choice in prompt.choices if prompt.answer == "gate")


def test_a_completion_prompt_is_sent_as_one_text_and_a_bad_header_is_refused():
    from citeline.prompts import parse_prompt

    prompt = parse_prompt("plain", "# variables: q\n# request: completion\n# answer: text\nQ: {{q}}\nA:")
    request = prompt.request(q="why?")
    assert request.prompt == "Q: why?\nA:" and request.messages == ()
    assert prompt.parse(" Answer: because ") == "because"
    with pytest.raises(PromptError, match="unknown '# answer: poem'"):
        parse_prompt("bad", "# variables: q\n# answer: poem\n[user]\n{{q}}")
    with pytest.raises(PromptError, match="no '# choices:'"):
        prompt.request(constrained=True, q="x")


def test_the_judge_labels_come_from_its_prompt():
    from citeline.verifiers.judge import LABELS

    assert LABELS == tuple(c.lower() for c in load_prompt("attribution_judge").choices)

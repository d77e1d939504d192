import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citeline.core.claims import ClaimSplitter
from citeline.core.sentences import RegexSentenceSplitter, SpacySentenceSplitter

IDS = ["a", "b", "c"]
ANSWER = ("Paris is the capital of France [1]. It has 2.1 million people. [2][3] Dr. Smith said so [9].\n\n"
          "- A list item [1, 2]")


def check_offsets(answer, claims):
    for claim in claims:
        assert answer[claim.start:claim.end] == claim.text
        for marker in claim.markers:
            assert answer[marker.start:marker.end] == marker.raw
            assert claim.start <= marker.start < marker.end <= claim.end


def test_regex_splitter_claims():
    claims = ClaimSplitter(RegexSentenceSplitter()).split(ANSWER, IDS)
    assert [c.check_text for c in claims] == [
        "Paris is the capital of France.", "It has 2.1 million people.", "Dr. Smith said so.", "- A list item"]
    # a marker after the full stop belongs to the sentence before it
    assert claims[1].source_ids == ("b", "c")
    assert claims[1].text == "It has 2.1 million people. [2][3]"
    assert claims[2].invalid_citations == ("9",)
    assert claims[3].source_ids == ("a", "b")
    check_offsets(ANSWER, claims)


def test_empty_or_blank_answers_have_no_claims():
    splitter = ClaimSplitter(RegexSentenceSplitter())
    assert splitter.split("", IDS) == []
    assert splitter.split(" \n\t", IDS) == []


def test_a_marker_before_the_first_sentence_belongs_to_it():
    answer = "[2] Paris is in France."
    claims = ClaimSplitter(RegexSentenceSplitter()).split(answer, IDS)
    assert len(claims) == 1 and claims[0].source_ids == ("b",) and claims[0].text == answer


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["Paris is big", " ", ". ", "[1]", "[2, 3]", "[7]", "\n", "Dr. X", "! ", "é"]),
                max_size=25))
def test_claim_offsets_are_exact_for_any_answer(pieces):
    answer = "".join(pieces)
    claims = ClaimSplitter(RegexSentenceSplitter()).split(answer, IDS)
    check_offsets(answer, claims)
    starts = [c.start for c in claims]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(claims, claims[1:]))  # claims never overlap


@pytest.mark.slow
def test_spacy_claims_keep_offsets_and_markers():
    claims = ClaimSplitter(SpacySentenceSplitter()).split(ANSWER, IDS)
    assert [c.check_text for c in claims] == [
        "Paris is the capital of France.", "It has 2.1 million people.", "Dr. Smith said so.", "- A list item"]
    check_offsets(ANSWER, claims)


@pytest.mark.slow
def test_spacy_splitter_names_the_fix_for_a_missing_model():
    with pytest.raises(RuntimeError, match="pip install"):
        SpacySentenceSplitter("no_such_model_xyz").split("Hello.")


def test_long_lines_are_cut_into_pieces_at_sentence_ends():
    from citeline.core.sentences import _pieces

    text = "One two. Three four five. Six seven eight nine."
    pieces = list(_pieces(text, 0, len(text), limit=20))
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))  # consecutive, nothing lost
    assert all(end - start <= 20 for start, end in pieces)
    assert text[pieces[0][0]:pieces[0][1]] == "One two."  # cut after a sentence end
    assert list(_pieces("x" * 45, 0, 45, limit=20)) == [(0, 20), (20, 40), (40, 45)]  # no space: hard cut


@pytest.mark.slow
def test_spacy_splits_a_line_longer_than_its_parser_limit():
    sentence = "The tower was built in Paris and it is tall. "
    text = sentence * 23_000  # 1,035,000 characters on one line: over spaCy's nlp.max_length
    spans = SpacySentenceSplitter().split(text)
    assert len(spans) == 23_000
    assert all(text[start:end] == sentence.strip() for start, end in spans)


@pytest.mark.slow
def test_spacy_forgets_the_words_of_a_call_so_a_server_does_not_grow():
    splitter = SpacySentenceSplitter()
    splitter.split("Warm up. The parser is loaded.")
    strings = len(splitter._nlp.vocab.strings)
    spans = splitter.split("Zorblaxian quintifers glemmed the vrondish plakes. Nobody saw it.")
    assert len(spans) == 2
    assert len(splitter._nlp.vocab.strings) == strings

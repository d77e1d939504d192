import pytest
from hypothesis import given
from hypothesis import strategies as st

from citeline.core.citations import find_markers, mask_markers, strip_markers

IDS = ["a", "b", "doc3"]


def resolved(text, ids=IDS):
    return [(m.raw, m.source_ids, m.invalid) for m in find_markers(text, ids)]


@pytest.mark.parametrize("text, expected", [
    ("x [1].", [("[1]", ("a",), ())]),
    ("x [1, 2].", [("[1, 2]", ("a", "b"), ())]),
    ("x [1;3].", [("[1;3]", ("a", "doc3"), ())]),
    ("x [1-3].", [("[1-3]", ("a", "b", "doc3"), ())]),
    ("x [1–2].", [("[1–2]", ("a", "b"), ())]),  # en dash
    ("x [1][2].", [("[1]", ("a",), ()), ("[2]", ("b",), ())]),
    ("x [doc3].", [("[doc3]", ("doc3",), ())]),
    ("x [DOC3].", [("[DOC3]", ("doc3",), ())]),
    ("x [Source 2].", [("[Source 2]", ("b",), ())]),
    ("x [a].", [("[a]", ("a",), ())]),
])
def test_citation_forms(text, expected):
    assert resolved(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("x [7].", [("[7]", (), ("7",))]),  # past the last source
    ("x [0].", [("[0]", (), ("0",))]),  # citations are 1-based
    ("x [3-1].", [("[3-1]", (), ("3-1",))]),  # reversed range
    ("x [2-5].", [("[2-5]", ("b", "doc3"), ("4", "5"))]),  # partly out of range
    ("x [1-999].", [("[1-999]", (), ("1-999",))]),  # a typo, not 999 citations
    ("x [doc9].", [("[doc9]", (), ("doc9",))]),  # an id that no source has
    ("x [1,].", [("[1,]", ("a",), ())]),  # stray comma
    ("x [1 2].", [("[1 2]", ("a", "b"), ())]),  # missing comma
    ("x [1-].", [("[1-]", (), ("1-",))]),  # half a range
    ("x [2, 9].", [("[2, 9]", ("b",), ("9",))]),
])
def test_malformed_markers_are_kept_and_their_bad_parts_reported(text, expected):
    assert resolved(text) == expected


@pytest.mark.parametrize("text", ["[sic]", "[citation needed]", "[]", "[ ]", "a [b c] d", "x[", "]x["])
def test_brackets_that_are_not_citations_stay_text(text):
    assert resolved(text) == []


def test_no_sources_means_every_citation_is_invalid():
    assert resolved("x [1].", ids=[]) == [("[1]", (), ("1",))]


@pytest.mark.parametrize("text, clean", [
    ("Paris is in France [1].", "Paris is in France."),
    ("Paris [1] is in France [2][3].", "Paris is in France."),
    ("[1] Paris is in France.", "Paris is in France."),
    ("Paris[1]is big.", "Paris is big."),
    ("Paris is in France.[1]", "Paris is in France."),
])
def test_markers_are_removed_from_the_text_that_is_checked(text, clean):
    markers = find_markers(text, IDS)
    assert strip_markers(text, markers) == clean


@given(st.lists(st.sampled_from(["word", " ", ".", "[1]", "[2, 3]", "[x9]", "[", "]", "\n", "é"]), max_size=30))
def test_marker_offsets_are_exact_and_masking_keeps_length(pieces):
    text = "".join(pieces)
    markers = find_markers(text, IDS)
    for marker in markers:
        assert text[marker.start:marker.end] == marker.raw
    masked = mask_markers(text, markers)
    assert len(masked) == len(text)
    assert find_markers(masked, IDS) == []

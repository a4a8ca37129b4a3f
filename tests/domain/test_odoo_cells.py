"""Cells of an Odoo contacts export read into partner values (app/domain/odoo_columns.py):
ranks that are no number, Odoo's own country names and Kosovo, tag names holding a
comma, and states whose name other subdivisions of the country share."""

from __future__ import annotations

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import odoo_columns as oc


@pytest.mark.parametrize("rank", ["inf", "-inf", "1e999", "nan", "NaN", "Infinity"])
def test_a_rank_that_is_no_finite_number_rejects_the_row(rank: str) -> None:
    row = oc.read_row(2, {"name": "Inf Co", "customer_rank": rank, "supplier_rank": rank})
    assert [(p.row, p.column) for p in row.rejected] == [
        (2, "customer_rank"),
        (2, "supplier_rank"),
    ]
    assert f"'{rank}' is not a number" in row.rejected[0].message
    assert "is_customer" not in row.values


def test_a_rank_that_is_a_number_sets_the_role() -> None:
    row = oc.read_row(2, {"name": "Co", "customer_rank": "2.0", "supplier_rank": "0"})
    assert row.rejected == []
    assert (row.values["is_customer"], row.values["is_supplier"]) == (True, False)


ODOO_NAMES = {
    "Congo (DRC)": "CD",
    "Congo (Republic)": "CG",
    "Cape Verde": "CV",
    "Virgin Islands (British)": "VG",
    "Virgin Islands (USA)": "VI",
    "USA Minor Outlying Islands": "UM",
    "Kosovo": "XK",
    "São Tomé and Príncipe": "ST",
    "Saint Barthélémy": "BL",
    "Falkland Islands": "FK",
    "Micronesia": "FM",
    "Macau": "MO",
    "Pitcairn Islands": "PN",
    "State of Palestine": "PS",
    # Odoo's names that pycountry knows too
    "Eswatini": "SZ",
    "Bonaire, Sint Eustatius and Saba": "BQ",
    "Türkiye": "TR",
    "Holy See (Vatican City State)": "VA",
}
"""Odoo's res.country names (odoo/addons/base/data/res_country_data.xml) -> ISO code."""


@pytest.mark.parametrize(("name", "code"), ODOO_NAMES.items())
def test_odoo_country_names_are_read(name: str, code: str) -> None:
    assert oc.country_code(name) == code
    assert oc.country_code(name.upper()) == code
    row = oc.read_row(2, {"name": "Co", "country_id": name})
    assert (row.rejected, row.values["country_code"]) == ([], code)


def test_kosovo_by_code_and_by_odoo_external_id() -> None:
    assert oc.country_code("XK") == "XK"
    assert oc.country_code("base.xk") == "XK"
    row = oc.read_row(2, {"name": "Prishtina Co", "country_id/id": "base.xk"})
    assert (row.rejected, row.values["country_code"]) == ([], "XK")
    assert oc.country_xid("XK") == "base.xk"
    assert oc.country_code("base.zz") is None and oc.country_code("Atlantis") is None


def test_a_list_of_tags_is_one_tag_per_element() -> None:
    row = oc.read_row(1, {"name": "Co", "category_id": ["Alpha,Beta", "Region / EMEA", " "]})
    assert row.tags == [["Alpha,Beta"], ["Region", "EMEA"]]


def test_a_tag_name_with_a_comma_or_backslash_survives_the_cell() -> None:
    paths = ["Smith, Jones & Co", "Region / EMEA", "C:\\Temp", "Ends in \\", "A\\,B", "VIP"]
    cell = oc.tag_cell(paths)
    assert cell == "Smith\\, Jones & Co,Region / EMEA,C:\\Temp,Ends in \\\\,A\\\\\\,B,VIP"
    assert oc.tag_paths(cell) == [
        ["Smith, Jones & Co"],
        ["Region", "EMEA"],
        ["C:\\Temp"],
        ["Ends in \\"],
        ["A\\,B"],
        ["VIP"],
    ]
    # A file from Odoo: names joined by commas, a lone backslash kept as it is.
    assert oc.tag_paths("VIP, Region / EMEA,C:\\Temp") == [
        ["VIP"],
        ["Region", "EMEA"],
        ["C:\\Temp"],
    ]


_NAME = st.text(alphabet=st.sampled_from("ab ,\\/&'"), min_size=1, max_size=12).filter(
    lambda n: n == n.strip() and n and " / " not in n and n != "/"
)


@given(st.lists(_NAME, max_size=6))
def test_any_tag_names_round_trip_through_a_cell(names: list[str]) -> None:
    assert oc.tag_paths(oc.tag_cell(names)) == [
        [p.strip() for p in n.split(" / ") if p.strip()] for n in names
    ]


SHARED_NAMES = [
    ("BD", "13", "Dhaka (BD-13)"),
    ("BD", "C", "Dhaka (BD)"),
    ("EE", "714", "Saaremaa (EE-714)"),
    ("EE", "74", "Saaremaa (EE)"),
    ("ES", "S", "Cantabria (ES-S)"),
    ("US", "CA", "California (US)"),
]


@pytest.mark.parametrize(("country", "state", "label"), SHARED_NAMES)
def test_a_state_is_written_by_odoo_display_name_unless_another_shares_it(
    country: str, state: str, label: str
) -> None:
    assert oc.state_label(country, state) == label
    assert oc.state_code(label, country) == state
    assert oc.state_code(label, None) == state


def test_a_bare_shared_name_means_the_subdivision_above_the_other() -> None:
    assert oc.state_code("Dhaka", "BD") == "C"
    assert oc.state_code("Dhaka (BD)", None) == "C"
    # The code in the label must belong to the row's country, and name that state.
    assert oc.state_code("Dhaka (BD-13)", "FR") is None
    assert oc.state_code("Khulna (BD-13)", "BD") is None


def test_every_subdivision_round_trips_through_its_label() -> None:
    """Export writes `state_label`, import reads it with `state_code`: the same state,
    whether the row names its country or not, for every subdivision pycountry has."""
    wrong = []
    for sub in pycountry.subdivisions:
        country, state = str(sub.code).split("-", 1)
        label = oc.state_label(country, state)
        if (oc.state_code(label, country), oc.state_code(label, None)) != (state, state):
            wrong.append((str(sub.code), label))
    assert wrong == []

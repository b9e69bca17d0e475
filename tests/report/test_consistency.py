"""One number, one meaning: headline, tiles, tables and charts agree in every report kind.

The rendered HTML marks each leadership number with ``data-ck`` (``tile-effect``,
``table-effect``, ``tile-lift``, ``cmp-effect``, ...); these tests parse it and compare. They
also hold the verdict rules: a result whose interval includes zero never gets a green badge,
a green "agree" badge or a cost-per-unit tile.
"""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from causal_kit.estimators import ESTIMATORS
from causal_kit.outcome import business_impact
from causal_kit.report import render

try:
    from .conftest import fit_case, render_case
except ImportError:  # tests/report is not a package
    from conftest import fit_case, render_case


def marked(html: str, key: str) -> list[str]:
    """Text of every element marked ``data-ck="key"``."""
    pattern = rf'data-ck="{re.escape(key)}"[^>]*>(.*?)</'
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(pattern, html, flags=re.S)]


def badge_status(html: str, key: str) -> list[str]:
    return re.findall(rf'class="ck-verdict ([a-z_]+)" data-ck="{key}"', html)


def tile_muted(html: str, key: str) -> list[bool]:
    return [bool(m) for m in re.findall(rf'<div class="ck-tile( muted)?"><div class="l">[^<]*</div><div class="v" '
                                        rf'data-ck="tile-{key}"', html)]


def check_effect_page(html: str, result) -> None:
    impact = business_impact(result)
    tiles, table = marked(html, "tile-effect"), marked(html, "table-effect")
    assert tiles and table and tiles[0] == table[0], (tiles, table)
    if marked(html, "tile-lift"):
        assert marked(html, "table-lift")[0].startswith(marked(html, "tile-lift")[0] + " ")
    if impact.effect_is_relative:
        assert tiles[0].endswith("%")  # a log outcome reads as a % change, never in log points
        assert not marked(html, "tile-lift")  # ... and only once
    includes_zero = result.ci[0] <= 0 <= result.ci[1]
    if includes_zero:
        assert badge_status(html, "verdict") != ["pass"]
        assert not marked(html, "tile-cost_per_unit")
        assert all(tile_muted(html, "iroas"))
    if impact.incremental is None:
        assert not marked(html, "tile-total")
    # Charts use the outcome's label, never the raw column name when a label is set.
    if impact.model.label != result.outcome and result.outcome:
        assert not re.search(rf"Effect on {re.escape(result.outcome)}\b(?! share)", html.replace(impact.model.label, "<label>"))


@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_effect_report_numbers_agree_for_every_method(method):
    check_effect_page(render_case(method), fit_case(method))


@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_robustness_and_portfolio_rows_repeat_the_headline(method):
    result = fit_case(method)
    other = result.with_updates(label="copy of " + (result.label or result.method))
    page = render([result, other])
    check_effect_page(page, result)
    assert marked(page, "cmp-effect")[0] == marked(page, "tile-effect")[0]
    # The forest chart plots the very number of the tile (a % change for log outcomes).
    impact = business_impact(result)
    forest = next(json.loads(f) for f in re.findall(r'data-ck-fig="[^"]+">(.*?)</script>', page, flags=re.S)
                  if "Estimates with" in f)
    scale = 100 if impact.effect_is_relative else 1
    assert forest["data"][0]["x"][0] == pytest.approx(scale * impact.effect)
    if result.ci[0] <= 0 <= result.ci[1]:
        assert badge_status(page, "agreement") != ["pass"]
    folio = render([[result], [fit_case("ab")]], title="folio")
    assert marked(folio, "folio-effect")[0] == marked(folio, "tile-effect")[0]

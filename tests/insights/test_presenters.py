"""What a funnel tile says when some entrants can still convert."""

from __future__ import annotations

from insights.presenters import present


def _funnel(open_entrants: int) -> dict:
    steps = [{"event": "visit", "count": 1200, "conversion_from_previous": 1.0, "conversion_from_first": 1.0},
             {"event": "order_paid", "count": 300, "conversion_from_previous": 0.25, "conversion_from_first": 0.25}]
    return {"steps": steps, "window": {"days": 7, "entrants_open": open_entrants, "complete": not open_entrants}}


def test_a_funnel_tile_says_its_conversion_is_so_far_while_entrants_can_still_convert():
    young = present(kind="funnel", result=_funnel(150))["number"]
    closed = present(kind="funnel", result=_funnel(0))["number"]

    assert young["display"] == closed["display"] == "25.0%"
    assert young["sub"] == "1,200 entered, 300 reached the last step · so far: 150 can still convert"
    assert closed["sub"] == "1,200 entered, 300 reached the last step"
    # an answer stored before the funnel said how mature it is reads as before
    assert present(kind="funnel", result={"steps": _funnel(0)["steps"]})["number"]["sub"] == closed["sub"]

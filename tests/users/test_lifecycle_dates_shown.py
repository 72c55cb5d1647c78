"""A customer report opened without dates shows, in its date inputs, the range it resolved to."""

from __future__ import annotations

import re

import pytest

from ops_platform.core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/users/lifecycle/", "/users/channels/"])
def test_the_date_inputs_show_the_range_the_page_shows(client_for, path):
    html = client_for(Role.USER_OPS).get(path).content.decode()

    # today is 2026-11-25 (pinned): the default is the 30 days up to today
    assert re.search(r'name="date_from" value="2026-10-27"', html)
    assert re.search(r'name="date_to" value="2026-11-25"', html)

"""The insights pages render for their readers, and a report page offers "Save as insight" with its parameters."""

from __future__ import annotations

import re
from datetime import time
from html import unescape

import pytest

from insights.models import Insight
from insights.services.dashboards import dashboard_create, tile_add
from insights.services.insights import insight_create
from insights.services.subscriptions import subscription_create
from ops_platform.core.roles import Role

pytestmark = pytest.mark.django_db
FUNNEL = {"steps": ["visit", "signup", "order_paid"], "window_days": ["7"]}


def test_every_page_renders(client, make_staff, team_with, funnel_events):
    lead = make_staff(Role.USER_OPS, email="lead@example.com")
    team = team_with("Growth", "user_ops", lead=lead)
    insight = insight_create(user=lead, kind="funnel", params=FUNNEL, name="Funnel", date_range="last_30_days",
                             visibility="team")
    dashboard = dashboard_create(user=lead, name="Board", team_id=team.pk)
    tile_add(user=lead, dashboard=dashboard, insight_id=insight.pk)
    subscription = subscription_create(user=lead, frequency="daily", at=time(8), dashboard_id=dashboard.pk,
                                       team_id=team.pk)
    client.force_login(lead)
    created = client.post("/insights/dashboards/new/", {"name": "Empty", "team": team.pk})
    assert created.status_code == 302

    for url in [created["Location"], "/insights/", f"/insights/{insight.pk}/", f"/insights/{insight.pk}/edit/",
                "/insights/new/?kind=funnel&steps=visit&steps=signup&window_days=7&date_from=2026-11-01&date_to=2026-11-24",
                "/insights/dashboards/", f"/insights/dashboards/{dashboard.pk}/",
                f"/insights/dashboards/{dashboard.pk}/edit/", "/insights/annotations/",
                f"/insights/subscriptions/new/?dashboard={dashboard.pk}", f"/insights/subscriptions/{subscription.pk}/",
                "/desk/alert-rules/", f"/desk/alert-rules/new/?insight={insight.pk}", "/desk/notifications/"]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_a_report_page_links_its_exact_parameters_to_save_as_insight(client, make_staff):
    client.force_login(make_staff(Role.ANALYST))

    html = client.get("/analytics/funnel/?steps=visit&steps=signup&window_days=3&date_from=2026-11-01"
                      "&date_to=2026-11-07").content.decode()

    assert ('href="/insights/new/?kind=funnel&amp;steps=visit&amp;steps=signup&amp;window_days=3&amp;'
            'date_from=2026-11-01&amp;date_to=2026-11-07"') in html


def test_a_role_without_customer_records_gets_no_save_button_on_their_pages(client, make_staff):
    client.force_login(make_staff(Role.PM))

    assert 'data-testid="save-as-insight"' not in client.get("/users/referral/").content.decode()
    assert 'data-testid="save-as-insight"' in client.get("/users/channels/").content.decode()


# "Save as insight" saves on the first submit, whatever teams its author is in


def _as_rendered(html: str) -> dict[str, list[str]]:
    """What a browser submits from the save form untouched: its hidden inputs, text inputs and selected options."""
    form = re.search(r'<form[^>]*data-testid="insight-save-form".*?</form>', html, re.S).group(0)
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            data.setdefault(name.group(1), []).append(unescape(value.group(1)) if value else "")
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        data[name] = [chosen.group(1) if chosen else re.search(r'<option value="([^"]*)"', options).group(1)]
    return data


@pytest.mark.parametrize(("teams", "visibility"), [(0, "private"), (1, "team"), (2, "private")])
def test_save_as_insight_saves_on_the_first_submit_with_its_default_audience(client, make_staff, team_with, teams,
                                                                             visibility):
    pm = make_staff(Role.PM)  # the demo pm is in two teams
    made = [team_with(name, "product", members=[pm]) for name in ["Growth", "Checkout"][:teams]]
    client.force_login(pm)
    url = "/insights/new/?kind=funnel&steps=visit&steps=signup&window_days=7"

    data = _as_rendered(client.get(url).content.decode())
    response = client.post(url, {**data, "name": ["Sign-ups"]})

    assert response.status_code == 302, response.content.decode()
    insight = Insight.objects.get()
    assert (insight.name, insight.owner, insight.visibility) == ("Sign-ups", pm, visibility)
    assert insight.team == (made[0] if teams == 1 else None)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", [("Steps", "visit, signup, order_paid"), ("Conversion window (days)", "7"),
            ("Only customers in segment", "Repeat buyers"), ("Only entrants whose window has closed", "Yes")]),
    ("zh-hans", [("步骤", "visit, signup, order_paid"), ("转化窗口（天）", "7"), ("仅限该分群的客户", "Repeat buyers"),
                 ("只看转化窗口已结束的进入者", "是")]),
])
def test_an_insight_names_its_parameters_as_its_report_does(client, make_staff, funnel_events, language, expected):
    """The insight's page and the save page list the parameters by their fields' labels, in the reader's language,
    a segment by its name (not ``segment: 3``), the range left to its own line."""
    from users.models import Segment

    segment = Segment.objects.create(name="Repeat buyers", rules={})
    analyst = make_staff(Role.ANALYST)
    params = {**FUNNEL, "segment": [str(segment.pk)], "closed_only": ["on"]}
    insight = insight_create(user=analyst, kind="funnel", params=params, name="Funnel", date_range="last_30_days")
    client.force_login(analyst)
    query = "&".join(f"{key}={value}" for key, values in params.items() for value in values)

    pages = [client.get(f"/insights/{insight.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode(),
             client.get(f"/insights/new/?kind=funnel&{query}", HTTP_ACCEPT_LANGUAGE=language).content.decode()]

    for html in pages:
        shown = [(unescape(name), unescape(value)) for name, value in
                 re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", re.search(r'<dl class="params".*?</dl>', html,
                                                                          re.S).group(0))]
        assert shown == expected

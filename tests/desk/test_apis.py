"""The desk's API: my desk as JSON, alerts and acknowledging, digests; bad input is a 400 with field errors."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from desk.models import Alert, Digest
from goals.models import Team, TeamMembership
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def _alert(**fields):
    defaults = {"kind": Alert.Kind.RUN_FAILED, "subject": f"s{Alert.objects.count()}", "day": timezone.localdate(),
                "params": {"run": "metrics", "started": "2026-11-25 02:00", "error": "boom"}}
    return Alert.objects.create(**{**defaults, **fields})


def test_my_desk_as_json(api_client_for, contact_due):
    client = api_client_for(Role.MERCHANT_OPS)
    me = client.handler._force_user
    contact_due(MerchantFactory(owner=me), days=-1)
    _alert(audience_user=me, kind=Alert.Kind.MERCHANT_AT_RISK,
           params={"code": "M1", "name": "Tea", "from_tier": "core", "week": "2026-11-16", "score": 10})

    response = client.get("/api/v1/desk/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    body = response.json()
    assert [s["key"] for s in body["sections"]] == ["follow_ups", "stale_merchants", "tickets"]
    assert body["todo_total"] == 1 and body["sections"][0]["items"][0]["overdue"] is True
    assert body["alerts"][0]["title"] == "M1 Tea fell to at-risk"
    assert body["goals"] == [] and body["teams"] == []


def test_the_lead_sees_the_team_load_in_json(api_client_for, make_staff):
    client = api_client_for(Role.MERCHANT_OPS)
    lead = client.handler._force_user
    team = Team.objects.create(name="Merchant operations", kind="merchant_ops")
    TeamMembership.objects.create(team=team, user=lead, is_lead=True)
    TeamMembership.objects.create(team=team, user=make_staff(Role.MERCHANT_OPS, username="ann"))

    teams = client.get("/api/v1/desk/").json()["teams"]

    assert teams[0]["name"] == "Merchant operations"
    assert [m["username"] for m in teams[0]["members"]] == [lead.username, "ann"]
    assert set(teams[0]["members"][1]) == {"username", "is_lead", "open_follow_ups", "overdue", "tickets", "stale"}


def test_alerts_list_filters_and_acknowledge(api_client_for):
    client = api_client_for(Role.ANALYST)
    mine = _alert(audience_role="analyst")
    _alert(audience_role="user_ops")
    done = _alert(audience_role="analyst", acknowledged_at=timezone.now())

    listed = client.get("/api/v1/alerts/").json()["results"]
    open_only = client.get("/api/v1/alerts/?acknowledged=false").json()["results"]
    acknowledged = client.post(f"/api/v1/alerts/{mine.pk}/acknowledge/")

    assert [a["id"] for a in listed] == [done.pk, mine.pk]
    assert [a["id"] for a in open_only] == [mine.pk]
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_at"]
    assert client.get("/api/v1/alerts/?acknowledged=false").json()["results"] == []


def test_acknowledging_another_audiences_alert_is_404_and_changes_nothing(api_client_for):
    alert = _alert(audience_role="user_ops")

    response = api_client_for(Role.ANALYST).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")

    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.parametrize(("query", "field"), [("kind=bogus", "kind"), ("since=yesterday", "since"),
                                              ("acknowledged=perhaps", "acknowledged")])
def test_bad_alert_filters_are_400_with_field_errors(api_client_for, query, field):
    response = api_client_for(Role.ANALYST).get(f"/api/v1/alerts/?{query}")

    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(("query", "field"), [("team=abc", "team"), ("week=2026-02-30", "week"), ("team=0", "team")])
def test_bad_digest_filters_are_400_with_field_errors(api_client_for, query, field):
    response = api_client_for(Role.PM).get(f"/api/v1/digests/?{query}")

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_digests_are_for_their_team_and_admins(api_client_for, make_staff):
    member_client, outsider_client = api_client_for(Role.USER_OPS), api_client_for(Role.USER_OPS)
    team = Team.objects.create(name="User operations", kind="user_ops")
    TeamMembership.objects.create(team=team, user=member_client.handler._force_user)
    digest = Digest.objects.create(team=team, week=date(2026, 11, 16), content={"goals": []})
    Digest.objects.create(team=Team.objects.create(name="Analysts", kind="analysts"), week=date(2026, 11, 16))

    mine = member_client.get("/api/v1/digests/").json()["results"]
    detail = member_client.get(f"/api/v1/digests/{digest.pk}/")
    filtered = member_client.get(f"/api/v1/digests/?team={team.pk}&week=2026-11-16").json()["results"]

    assert [d["id"] for d in mine] == [digest.pk] and [d["id"] for d in filtered] == [digest.pk]
    assert detail.status_code == 200 and detail.json()["content"] == {"goals": []}
    assert outsider_client.get("/api/v1/digests/").json()["results"] == []
    assert outsider_client.get(f"/api/v1/digests/{digest.pk}/").status_code == 403
    assert api_client_for(Role.ADMIN).get(f"/api/v1/digests/{digest.pk}/").status_code == 200
    assert len(api_client_for(Role.ADMIN).get("/api/v1/digests/").json()["results"]) == 2
    assert member_client.get("/api/v1/digests/999999/").status_code == 404


def test_the_endpoints_need_a_login(client, db):
    for path in ["/api/v1/desk/", "/api/v1/alerts/", "/api/v1/digests/", "/api/v1/digests/1/"]:
        assert client.get(path).status_code in (401, 403)
    assert client.post("/api/v1/alerts/1/acknowledge/").status_code in (401, 403)


def test_the_schema_documents_the_endpoints(api_client_for):
    paths = api_client_for(Role.PM).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    for path in ["/api/v1/desk/", "/api/v1/alerts/", "/api/v1/alerts/{alert_id}/acknowledge/", "/api/v1/digests/",
                 "/api/v1/digests/{digest_id}/"]:
        assert path in paths
    assert {p["name"] for p in paths["/api/v1/alerts/"]["get"]["parameters"]} >= {"kind", "acknowledged", "since"}

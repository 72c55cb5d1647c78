"""Chinese all the way (issue 17): every page, rendered in Simplified Chinese, shows no English word.

The pages come from the URLconf (the role sweep's discovery, ``tests/test_roles.py``), so a page added later is
checked without touching this file; its ids are resolved from a small seeded demo data set. Each page is fetched
with the Django test client as an administrator whose language is zh-hans, its visible text (and the visible
attributes: placeholder, title, aria-label, alt; and the labels handed to Chart.js in ``json_script`` data) is
extracted with the standard library's HTML parser, and every word in Latin letters must be allowed by a
principle, not by a list of English words:

- it is an identifier: it holds ``_``, ``.``, ``@``, ``/``, ``:``, ``=`` or a digit (``order_paid``,
  ``properties.channel``, ``v1``, an e-mail address, a URL);
- it is an abbreviation or unit in capitals (``AARRR``, ``RFM``, ``CSV``, ``GMV``, ``UTC``);
- it sits inside ``<code>``, ``<kbd>``, ``<samp>``, ``<pre>`` or an element marked ``translate="no"`` (names the
  product does not translate: event names, property names, keys, the language switcher's own names), or is the
  value of a ``<textarea>`` (what a person typed);
- it is a name from the data: anything a person typed (a merchant's, a team's, a goal's, a ticket's name…),
  event names and property keys seen in the events — collected from the database, not written here;
- a handful of product names (``Ops Platform`` is translated; ``Chart.js``, ``Excel`` are not).

Pages that cannot be rendered as a plain GET (downloads, POST-only actions) are skipped with their reason in
``SKIP``; a page added by another branch needs nothing here unless it is one of those.
"""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

import pytest
import time_machine
from django.apps import apps
from django.db import transaction
from django.urls import get_resolver

from tests.conftest import PINNED_NOW
from tests.test_roles import ENDPOINTS

END = date(2026, 11, 24)

# Routes that answer something else than an HTML page to a GET, with the reason.
SKIP = {
    "analytics/funnel/export/": "a download (CSV/XLSX)",
    "analytics/retention/export/": "a download (CSV/XLSX)",
    "analytics/golden-time/export/": "a download (CSV/XLSX)",
    "analytics/trends/export/": "a download (CSV/XLSX)",
    "analytics/stickiness/export/": "a download (CSV/XLSX)",
    "merchants/export/": "a download (CSV)",
    "users/customers/export.csv": "a download (CSV)",
    "users/segments/<id:segment_id>/export.csv": "a download (CSV)",
    "users/coupons/<id:campaign_id>/codes.csv": "a download (CSV)",
    "desk/digests/<id:digest_id>/digest.xlsx": "a download (XLSX)",
    "products/tickets/<id:ticket_id>/attachments/<id:attachment_id>/": "a download (the attached file)",
    "health/": "a JSON health check for load balancers, not a page",
    "i18n/setlang/": "Django's language switch: POST only, redirects",
    "login/": "rendered for anonymous visitors: see test_login_page_in_chinese",
}
# Routes skipped by their shape: a report's download, a board column's next cards (JSON, read on the board's page).
SKIP_SUFFIXES = {"export/": "a download (CSV/XLSX)", "board/column/": "a board column's next cards, as JSON"}

# Names that stay Latin in Chinese text: products and formats, and the HTTP names a script must type as they are.
PRODUCT_NAMES = {"Chart.js", "Excel", "OpenCC", "Django", "Celery", "Redis", "PostgreSQL", "Swagger", "OpenAPI",
                 "Segment", "PostHog", "Sensors", "JSON", "Token", "Basic", "Markdown", "Authorization"}
HTTP_HEADER = re.compile(r"^X(-[A-Z][a-z]+)+$")  # X-Ingest-Key

IDENTIFIER = re.compile(r"[_.@/:=\d]")
ABBREVIATION = re.compile(r"^[A-Z][A-Z0-9&]{1,7}s?$")
WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
# What a person typed (or the platform sent as a name), per model: these words are data, not interface. Generated
# text (an alert's subject, a notification's message, a tier change's reason) is deliberately not here.
DATA_FIELDS = {
    "accounts.Staff": ["username", "first_name", "last_name", "email"],
    "accounts.ApiToken": ["name", "prefix"],
    "goals.Team": ["name", "description"],
    "goals.Goal": ["title"],
    "insights.Insight": (["name", "description"], {"owner__isnull": False}),  # not the digest's tiles: ours
    "insights.Dashboard": (["name", "description"], {"team_digest": False}),  # not the digests: named by us
    "insights.Annotation": ["text"],
    "desk.AlertRule": ["name"],
    "merchants.Merchant": ["code", "name", "city", "district", "address", "contact_person", "loss_note", "source",
                           "tags"],
    "merchants.MerchantStageMove": ["note"],
    "merchants.MerchantContact": ["notes", "outcome"],
    "merchants.Course": ["code", "name", "description"],
    "merchants.TrainingSession": ["trainer", "place"],
    "merchants.Campaign": ["name"],
    "users.Customer": ["distinct_id", "utm_source", "utm_medium", "utm_campaign", "referrer", "invite_code"],
    "users.ChannelSpend": ["note"],
    "users.Segment": ["name", "description"],
    "users.CouponCampaign": ["name"],
    "users.Coupon": ["code"],
    "products.Ticket": ["title", "description", "expected_change", "rejection_reason", "labels"],
    "products.TicketTransition": ["comment"],
    "products.TicketComment": ["body"],
    "products.TicketAttachment": ["name"],
    "products.TrackingPlan": ["review_comment"],
    "products.FeedbackItem": ["who", "text"],
    "analytics.IngestKey": ["name", "prefix"],
    "analytics.NameMapping": ["source", "target", "scope"],  # the names an SDK sends, as it sends them
}
HIDDEN_TAGS = {"script", "style", "template", "noscript", "title"}
LITERAL_TAGS = {"code", "kbd", "samp", "pre", "var"}
TYPED_TAGS = {"textarea"}  # its text is the field's value, what a person typed; its placeholder is interface
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class VisibleText(HTMLParser):
    """The text a reader sees: element text outside script/style/code, visible attributes, option labels and
    the labels in json_script data blocks (what Chart.js draws as legends and axes)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, hidden, literal)
        self.chunks: list[str] = []
        self.json_chunks: list[str] = []
        self._json = False
        self._joined = False

    @property
    def hidden(self) -> bool:
        return any(hidden for _, hidden, _ in self.stack)

    @property
    def literal(self) -> bool:
        return any(literal for _, _, literal in self.stack)

    def handle_starttag(self, tag, attrs):
        self._joined = False
        attributes = dict(attrs)
        hidden = tag in HIDDEN_TAGS or "hidden" in attributes and tag != "input"
        literal = tag in LITERAL_TAGS or attributes.get("translate") == "no"
        if tag == "script" and attributes.get("type") == "application/json":
            self._json = True
        if not (self.hidden or hidden or self.literal or literal):
            for name in VISIBLE_ATTRIBUTES:
                if attributes.get(name):
                    self.chunks.append(attributes[name])
            if tag == "input" and attributes.get("type") in {"submit", "button"} and attributes.get("value"):
                self.chunks.append(attributes["value"])
        if tag not in VOID_TAGS:
            self.stack.append((tag, hidden, literal or tag in TYPED_TAGS))

    def handle_endtag(self, tag):
        self._joined = False
        if tag == "script":
            self._json = False
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if self._json:
            self.json_chunks.append(data)
        elif not (self.hidden or self.literal):
            if self._joined and self.chunks:  # the parser hands a stray "<" over apart: one text run all the same
                self.chunks[-1] += data
            else:
                self.chunks.append(data)
        self._joined = True


# Keys under which chart data and page scripts carry words to show (Chart.js legends ``label``, axis categories
# ``labels``, titles); everything under them is shown. Other keys hold codes (``name``, ``key``, ``event``).
LABEL_KEYS = {"label", "labels", "title", "legend", "caption", "tooltip", "x_label", "y_label"}


def _json_labels(value, shown: bool = False):
    """The strings a script shows from a json_script block: those under label-like keys, not the codes beside."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _json_labels(inner, shown or key in LABEL_KEYS or key.endswith("_label"))
    elif isinstance(value, list):
        for inner in value:
            yield from _json_labels(inner, shown)
    elif isinstance(value, str) and shown:
        yield value


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    chunks = list(parser.chunks)
    for block in parser.json_chunks:
        try:
            chunks.extend(_json_labels(json.loads(block)))
        except ValueError:
            continue
    return "\n".join(chunk.strip() for chunk in chunks if chunk.strip())


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The Latin-letter words in ``text`` that no principle allows (see the module docstring)."""
    found = []
    for token in text.split():
        token = token.strip("()[]{}（）【】「」《》,，.。;；:：!！?？'\"“”‘’·…、|—-–+*%#")
        if not token or not re.search(r"[A-Za-z]", token):
            continue
        if (token in allowed or token in PRODUCT_NAMES or IDENTIFIER.search(token) or ABBREVIATION.match(token)
                or HTTP_HEADER.match(token) or len(token) == 1):  # one letter: a symbol (p < 0.05, n)
            continue
        for word in WORD.findall(token):
            if (word in allowed or word.lower() in allowed or word in PRODUCT_NAMES or ABBREVIATION.match(word)
                    or len(word) == 1):  # a letter of an abbreviation written out: "R、F、M"
                continue
            found.append(word)
    return found


def data_words() -> set[str]:
    """Every word a person typed or the events brought in: values of the data fields of every model, event names
    and property keys."""
    words: set[str] = set()
    for label, spec in DATA_FIELDS.items():
        fields, only = spec if isinstance(spec, tuple) else (spec, {})
        for row in apps.get_model(label).objects.filter(**only).values_list(*fields).distinct()[:5000]:
            for value in row:
                for text in value if isinstance(value, list) else [value]:  # tags, labels: JSON lists of names
                    if text:
                        words.add(str(text))
                        words.update(str(text).split())
                        words.update(word.lower() for word in WORD.findall(str(text)))
    from analytics.models import Event

    for event, properties in Event.objects.values_list("event", "properties").distinct()[:20000]:
        words.add(event)
        words.update(properties or {})
    return words


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo data set, small, loaded once for the module inside a transaction rolled back at the end."""
    from ops_platform.dashboard.demo import demo_seed

    with django_db_blocker.unblock(), time_machine.travel(PINNED_NOW, tick=False), transaction.atomic():
        demo_seed(customers=300, days=35, seed=11, end=END, merchants=24)
        _extra_objects()
        yield {"words": data_words(), "ids": _ids(),
               "namespace_ids": {app: make() for app, make in NAMESPACE_IDS.items()}}
        transaction.set_rollback(True)


def _extra_objects() -> None:
    """Objects the demo data set does not make, so that their pages have something to show: each team's digest
    dashboard (its tiles: goals, AARRR, channels, life cycle, tier moves, launches, alerts) and subscription, saved
    reports of each analytics kind, an annotation."""
    from analytics.services.keys import ingest_key_create
    from insights.services.annotations import annotation_create
    from insights.services.digests import team_digests_ensure
    from insights.services.insights import insight_create
    from ops_platform.accounts.models import Staff
    from ops_platform.core.exceptions import ApplicationError

    team_digests_ensure()
    admin = Staff.objects.get(username="admin")
    for kind, params in [
        ("trends", {"event": "order_paid", "measure": "sum", "property": "amount", "interval": "week"}),
        ("trends", {"event": "visit", "measure": "unique", "interval": "week", "breakdown": "properties.channel"}),
        ("funnel", {"steps": "visit,signup,order_paid", "window_days": "7", "breakdown": "channel"}),
        ("retention", {"cohort_event": "signup", "return_event": "order_paid", "period": "week"}),
        ("golden_time", {"event": "order_paid"}),
        ("stickiness", {"event": "order_paid"}),
    ]:
        try:
            insight_create(user=admin, kind=kind, params=params, name=f"{kind}-saved", date_range="last_30_days",
                           visibility="private")
        except ApplicationError as refused:
            raise AssertionError(f"{kind}: {refused.errors}") from refused
    annotation_create(user=admin, day=END, text="launch-day")
    ingest_key_create(name="marketplace-prod")
    from analytics.services.naming import Draft, name_mapping_create

    name_mapping_create(draft=Draft.of(kind="event", source="Order Completed", target="order_paid"))


def _first(model_label: str, **filters) -> str | None:
    model = apps.get_model(model_label)
    pk = model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True).first()
    return None if pk is None else str(pk)


def _ids() -> dict[str, str | None]:
    """A value for each URL parameter name, taken from the seeded data."""
    customer = apps.get_model("users.Customer").objects.order_by("pk").values_list("distinct_id", flat=True).first()
    return {
        "merchant_id": _first("merchants.Merchant"),
        "ticket_id": _first("products.Ticket"),
        "goal_id": _first("goals.Goal"),
        "team_id": _first("goals.Team"),
        "digest_id": _first("desk.Digest"),
        "segment_id": _first("users.Segment"),
        "distinct_id": customer,
        "insight_id": _first("insights.Insight"),
        "dashboard_id": _first("insights.Dashboard"),
        "rule_id": _first("desk.AlertRule"),
        "course_id": _first("merchants.Course"),
        "session_id": _first("merchants.TrainingSession"),
        "target_id": _first("merchants.RecruitmentTarget"),
        "subscription_id": _first("insights.Subscription"),
        "version": "1",
        "annotation_id": _first("insights.Annotation"),
        "tile_id": _first("insights.DashboardTile"),
        "alert_id": _first("desk.Alert"),
        "contact_id": _first("merchants.MerchantContact"),
        "membership_id": _first("goals.TeamMembership"),
        "spend_id": _first("users.ChannelSpend"),
        "invite_id": _first("merchants.CampaignInvite"),
    }


# Pages that need a query string to show something (what the links to them carry).
QUERY = {
    "insights/new/": lambda ids: "?kind=funnel&steps=visit,signup,order_paid",
    "insights/subscriptions/new/": lambda ids: f"?dashboard={ids['dashboard_id']}",
    "desk/alert-rules/new/": lambda ids: f"?insight={ids['insight_id']}",
}


# The same parameter name means another model in another app.
NAMESPACE_IDS = {
    "merchants": lambda: {"campaign_id": _first("merchants.Campaign")},
    "users": lambda: {"campaign_id": _first("users.CouponCampaign")},
    "analytics": lambda: {"pk": _first("analytics.IngestKey"), "job_id": _first("analytics.ExportJob")},
    "account": lambda: {"token_id": _first("accounts.ApiToken")},
}


# The same parameter name means another model on another route of the same app.
ROUTE_IDS = {
    "analytics/event-names/<id:pk>/delete/": {"pk": lambda: _first("analytics.NameMapping")},
}


ROUTE_PARAM = re.compile(r"<(?:[^>:]+:)?(\w+)>")


def _page_routes() -> list[str]:
    return sorted({endpoint.route for endpoint in ENDPOINTS if endpoint.kind == "page"})


def _path_for(route: str, ids: dict[str, str | None], namespace_ids: dict[str, dict[str, str | None]]) -> str | None:
    app = route.split("/", 1)[0]
    values = {**ids, **namespace_ids.get(app, {})}
    missing = []

    def value(match):
        found = values.get(match[1])
        if found is None:
            missing.append(match[1])
            return ""
        return str(found)

    values.update({name: make() for name, make in ROUTE_IDS.get(route, {}).items()})
    path = "/" + ROUTE_PARAM.sub(value, route)
    if missing:
        return None
    return path + (QUERY[route](values) if route in QUERY else "")


PAGE_ROUTES = _page_routes()
PLACEHOLDER_PATHS = {endpoint.route: endpoint.path for endpoint in ENDPOINTS}  # ids that do not exist


@pytest.fixture
def admin_in_chinese(make_staff, client):
    from ops_platform.core.roles import Role

    client.force_login(make_staff(Role.ADMIN, language="zh-hans"))
    return client


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_every_page_in_chinese_shows_no_english(route, seeded, admin_in_chinese):
    if route in SKIP:
        pytest.skip(SKIP[route])
    for suffix, reason in SKIP_SUFFIXES.items():
        if route.endswith(suffix):
            pytest.skip(reason)
    path = _path_for(route, seeded["ids"], seeded["namespace_ids"])
    if path is None:  # a POST-only action on an object the demo lacks refuses a GET before it looks for the object
        response = admin_in_chinese.get(PLACEHOLDER_PATHS[route])
        assert response.status_code == 405, f"no id in the seeded data for {route}: add it to _ids()"
        pytest.skip("answers only POST: no page to read")

    response = admin_in_chinese.get(path, follow=True)

    if response.status_code == 405:
        pytest.skip("answers only POST: no page to read")
    assert response.status_code == 200, f"{path} answered {response.status_code}"
    assert response["Content-Type"].startswith("text/html")
    text = visible_text(response.content.decode())
    english = {line: words for line in text.splitlines() if (words := english_words(line, seeded["words"]))}
    assert not english, f"{path}: English words in the Chinese page: " + "; ".join(
        f"{sorted(set(words))} in «{line[:160]}»" for line, words in english.items())


def test_login_page_in_chinese(client, seeded):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert not english_words(visible_text(response.content.decode()), seeded["words"])


def test_every_page_route_is_rendered_or_skipped_with_a_reason():
    unknown = set(SKIP) - set(PAGE_ROUTES)
    assert not unknown, f"SKIP names routes the URLconf does not have: {sorted(unknown)}"
    assert get_resolver()  # the URLconf loads


def test_the_extractor_reads_what_a_reader_sees():
    html = ("<p>订单 <code>order_paid</code> Orders</p><script>var x = 'Hidden';</script>"
            "<input placeholder=\"Search\"><span translate=\"no\">English</span>"
            "<script type=\"application/json\">{\"labels\": [\"Visits\"], \"name\": \"visit\"}</script>")

    text = visible_text(html)

    assert english_words(text, set()) == ["Orders", "Search", "Visits"]
    assert english_words("渠道 wechat_pay v1 AARRR a@b.cn 面馆", set()) == []


# Generated text outside the pages: e-mails, desk alerts, ticket notifications, in a Chinese reader's language.


def _english_in(text: str, allowed: set[str]) -> dict[str, list[str]]:
    return {line: words for line in text.splitlines() if (words := english_words(line, allowed))}


def test_the_weekly_digest_e_mail_reads_in_chinese(seeded, make_staff):
    from desk.models import Digest
    from desk.services.digests import digest_email
    from ops_platform.core.roles import Role

    reader = make_staff(Role.MERCHANT_OPS, email="li@example.com", language="zh-hans")
    digests = list(Digest.objects.select_related("team"))
    assert digests, "the demo data set makes last week's digests"
    for digest in digests:
        message = digest_email(digest=digest, member=reader)

        html = message.alternatives[0][0]
        assert not english_words(message.subject, seeded["words"])
        assert not _english_in(message.body, seeded["words"]), digest.team.name
        assert not _english_in(visible_text(html), seeded["words"]), digest.team.name


def test_a_subscription_e_mail_reads_in_chinese(seeded, make_staff, mailoutbox):
    from insights.models import Subscription
    from insights.services.subscriptions import subscription_run_send, subscription_send_now
    from ops_platform.accounts.models import Staff

    Staff.objects.update(language="zh-hans")
    Staff.objects.filter(email="").update(email="reader@example.com")
    subscription = Subscription.objects.filter(dashboard__team_digest=True).select_related("dashboard").first()
    admin = Staff.objects.get(username="admin")

    run = subscription_send_now(user=admin, subscription=subscription)
    assert subscription_run_send(run_id=run.pk) >= 1

    for message in mailoutbox:
        assert not english_words(message.subject, seeded["words"]), message.subject
        assert not _english_in(message.body, seeded["words"])
        assert not _english_in(visible_text(message.alternatives[0][0]), seeded["words"])


def test_desk_alerts_read_in_chinese(seeded):
    from django.utils import translation

    from desk.models import Alert

    alerts = list(Alert.objects.all())
    assert alerts, "the demo data set makes the night's alerts"
    with translation.override("zh-hans"):
        english = {f"{alert.kind}: {alert.title} {alert.message}": english_words(f"{alert.title} {alert.message}",
                                                                                  seeded["words"])
                   for alert in alerts}
    assert not {text: words for text, words in english.items() if words}

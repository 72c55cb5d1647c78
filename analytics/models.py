"""Raw events and the metrics computed from them. This app knows nothing of the domain apps."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import MD5
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Person(models.Model):
    """A compact integer key for a ``distinct_id``, assigned once at ingestion.

    Joins and indexes use the integer; the text is kept for display. Merging identities later means
    pointing several distinct ids at one person (a mapping table), without touching the event text.
    """

    distinct_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # Identity (analytics/services/identity.py): the person this distinct id's events belong to once it has been
    # linked to another id (``identify``/``alias``); null while it is its own person. Always the final person, never
    # a chain: a merge re-points every id that pointed at the person merged away.
    merged_into = models.BigIntegerField(null=True, blank=True)
    # A known customer (a user id named by identify/alias): another person is merged into it, never it into another.
    identified = models.BooleanField(default=False, db_default=False)

    class Meta:
        # A constraint rather than ``unique=True``, which on PostgreSQL adds a second (LIKE pattern) index that no
        # query uses and every new person pays for.
        constraints = [models.UniqueConstraint(fields=["distinct_id"], name="person_distinct_id_unique")]
        # Partial: only merged ids are indexed, so a new person costs nothing more.
        indexes = [models.Index(fields=["merged_into"], condition=models.Q(merged_into__isnull=False),
                                name="person_merged_into")]

    def __str__(self) -> str:
        return self.distinct_id


class PersonMerge(models.Model):
    """One merge of a person into another (identify/alias linked their distinct ids), in the order applied.

    The domain apps read this log to move what they keep per person (customers, coupons) onto the person kept."""

    from_person = models.BigIntegerField()
    into_person = models.BigIntegerField()
    anonymous_id = models.CharField(max_length=200)
    known_id = models.CharField(max_length=200)
    events = models.BigIntegerField(default=0)  # events re-pointed by the merge
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["from_person"], name="person_merge_from")]

    def __str__(self) -> str:
        return f"{self.from_person} → {self.into_person}"


class PersonFacts(models.Model):
    """What all history says of one person, kept up to date at ingestion (analytics/services/facts.py)."""

    person = models.OneToOneField(Person, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                  related_name="facts")
    first_visit_at = models.DateTimeField(null=True, blank=True)
    first_visit_id = models.BigIntegerField(null=True, blank=True)  # ties on time: the lower event id wins
    first_channel = models.CharField(max_length=100, blank=True, default="")  # of the first visit; "" without one
    first_signup_at = models.DateTimeField(null=True, blank=True)
    first_order_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["first_visit_at"], name="facts_first_visit"),
            models.Index(fields=["first_signup_at"], name="facts_first_signup"),
            models.Index(fields=["first_order_at"], name="facts_first_order"),
        ]

    def __str__(self) -> str:
        return f"facts of person {self.person_id}"


class Event(models.Model):
    uuid = models.UUIDField(unique=True, default=uuid.uuid4)
    event = models.CharField(max_length=200)
    distinct_id = models.CharField(max_length=200)
    # No index of its own: ``event_person_ts`` below leads with the person (every index is paid by each stored event).
    person = models.ForeignKey(Person, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    timestamp = models.DateTimeField()
    # ``channel`` is copied out of properties at ingestion: funnels break down by it and AARRR
    # attributes customers by the channel of their first visit.
    channel = models.CharField(max_length=100, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Covers the report engine: each event's slice in (person, time) order with the id (tie-break) and the
            # channel (breakdown), so funnel steps and cohorts are index-only scans once the table is vacuumed.
            # Plain key columns rather than INCLUDE, so SQLite builds it too.
            models.Index(fields=["event", "person", "timestamp", "id", "channel"], name="event_name_person_ts_cover"),
            models.Index(fields=["person", "timestamp"], name="event_person_ts"),
            models.Index(fields=["timestamp"], name="event_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.distinct_id} {self.timestamp:%Y-%m-%d %H:%M}"


class IngestKey(models.Model):
    """A key the platform sends in ``X-Ingest-Key``. Only its SHA-256 is stored."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, help_text=_("First characters, to recognise a key."))
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ingest key")
        verbose_name_plural = _("ingest keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class MetricsRun(models.Model):
    """One run of ``compute_metrics`` (nightly, backfill or by hand), shown on the dashboard."""

    class Status(models.TextChoices):
        STARTED = "started", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", _("nightly")
        COMMAND = "command", _("command")
        BACKFILL = "backfill", _("backfill")
        MANUAL = "manual", _("manual")

    date_from = models.DateField()
    date_to = models.DateField()
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.COMMAND)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="metricsrun_started")]

    def __str__(self) -> str:
        return f"{self.date_from}…{self.date_to} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class AarrrDaily(models.Model):
    """AARRR metrics for one day and one first-touch channel (semantics in DESIGN.md)."""

    date = models.DateField()
    channel = models.CharField(max_length=100)
    acquisition = models.PositiveIntegerField(default=0)
    activation = models.PositiveIntegerField(default=0)
    retention = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    paying_customers = models.PositiveIntegerField(default=0)
    referral = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "channel"]
        constraints = [models.UniqueConstraint(fields=["date", "channel"], name="aarrr_daily_date_channel")]

    def __str__(self) -> str:
        return f"{self.date} {self.channel}"


def _export_path(job: ExportJob, filename: str) -> str:
    return f"exports/{job.created_at:%Y/%m}/{job.id}/{filename}"


class ExportJob(models.Model):
    """A report written to a file on a worker (large ranges), with progress for the page that waits on it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("report"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    file_format = models.CharField(_("format"), max_length=10, choices=Format.choices, default=Format.CSV)
    # The language the file's titles, headers and labels are written in: the requester's at the time they asked
    # (a worker has no request to take it from). Empty: the site's (LANGUAGE_CODE), for jobs made before it was kept.
    language = models.CharField(_("language"), max_length=12, blank=True, default="")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_export_path, blank=True, max_length=300)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"{self.kind}.{self.file_format} {self.status}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))


class EventCountHourly(models.Model):
    """Events stored per event name and UTC hour: the dashboard's totals and daily chart, a trends ``total`` without
    filters and the golden-time grid read a few thousand rows instead of counting millions of events.

    On PostgreSQL, triggers on the events table keep it (migration 0018: set-based once per writing statement —
    insert, ``COPY``, change, delete, truncate — whoever writes), so it is exact whether the days are packed or not;
    on SQLite ``events_load`` does. An hour's count may be split over several rows (``slot``): concurrent loads on
    PostgreSQL each add to the slot of their own connection, so they do not queue on the same rows until each
    other's commit. Readers sum; the nightly columns task folds past days back into slot 0 (``event_counts_compact``).
    """

    event = models.CharField(max_length=200, default="")
    hour = models.DateTimeField()
    slot = models.PositiveSmallIntegerField(default=0)
    events = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "hour", "slot"], name="event_count_event_hour_slot")]
        indexes = [models.Index(fields=["hour"], name="event_count_hour")]

    def __str__(self) -> str:
        return f"{self.event} {self.hour:%Y-%m-%d %H:00} [{self.slot}] {self.events}"


class Tally(models.Model):
    """Running totals kept by the writers (``persons``: people ever seen)."""

    key = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


# Event columns (analytics/services/columns.py): a compact, column-wise copy of each complete UTC day's events that
# the funnel reads instead of millions of index tuples. Kept on PostgreSQL only; SQLite never builds them.


class ColumnDay(models.Model):
    """A UTC day whose events have been copied into column blocks (one ``ColumnBlock`` per event name)."""

    day = models.DateField(primary_key=True)
    events = models.BigIntegerField(default=0)
    built_at = models.DateTimeField(default=timezone.now)
    # The layout the day was built in (analytics.services.columns.LAYOUT): a day of an older layout is read from the
    # events until it is built again.
    layout = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.day} {self.events}"


class ColumnBlock(models.Model):
    """One event name's events of one UTC day, as packed big-endian arrays in event id order: person ids
    (int8), timestamps (int8 microseconds since 2000-01-01 UTC), event ids (int8) and 1-based positions in
    ``channels`` (int4)."""

    day = models.DateField()
    event = models.CharField(max_length=200)
    events = models.BigIntegerField(default=0)
    channels = models.JSONField(default=list)
    persons = models.BinaryField()
    times = models.BinaryField()
    ids = models.BinaryField()
    codes = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "event"], name="column_block_day_event")]

    def __str__(self) -> str:
        return f"{self.day} {self.event} {self.events}"


class ColumnProperty(models.Model):
    """One property key of one ``ColumnBlock``: for each of the block's events that carries the key (not JSON null),
    its 0-based position in the block (``rows``, event id order; NULL when every event of the block carries it) and
    its value's ``ColumnValue`` id (``codes``), as packed big-endian int4 arrays in row order; ``numbers``: each such
    event's value as packed float8, NaN unless a JSON number (NULL when none of them is one)."""

    day = models.DateField()
    event = models.CharField(max_length=200)
    key = models.TextField()
    numbers = models.BinaryField(null=True)
    rows = models.BinaryField(null=True)
    codes = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "event", "key"], name="column_property_day_event_key")]
        indexes = [models.Index(fields=["event", "key"], name="column_property_event_key")]  # which keys an event has

    def __str__(self) -> str:
        return f"{self.day} {self.event} {self.key}"


class ColumnValue(models.Model):
    """One distinct value of one property key, shared by every built day (the dictionary of ``ColumnProperty``'s
    codes): its text as ``->>`` gives it, whether it is a JSON number (a string "12" and a number 12 are two values),
    and its number (NaN unless a JSON number float8 can hold). Written by the column builds alone; never deleted (a
    value no event carries any more costs a row)."""

    id = models.AutoField(primary_key=True)  # int4: the codes of ColumnProperty
    key = models.TextField()
    number = models.BooleanField()
    text = models.TextField()
    value = models.FloatField()

    class Meta:
        constraints = [
            # md5: a btree entry cannot hold a long text; the build and the reads compare the text too.
            models.UniqueConstraint("key", "number", MD5("text"), name="column_value_key_number_text"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.text}"


class ColumnChange(models.Model):
    """A past UTC day whose events were written (inserted, changed or deleted) after its columns were built, or
    while they were being built. Recorded by triggers on the events table; a day with a change is read from the
    events until the next build, which deletes the changes it has seen."""

    day = models.DateField(db_index=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.day}"


class NameMapping(models.Model):
    """An SDK's name mapped onto a canonical one at ingestion (analytics/services/naming.py).

    ``event``: an event name (``Order Completed`` → ``order_paid``). ``property``: a property key (``revenue`` →
    ``amount``) on the events named ``scope`` once renamed (a canonical name), or on every event when ``scope`` is
    blank. Applied to events as they arrive, never to stored ones.
    """

    class Kind(models.TextChoices):
        EVENT = "event", _("Event name")
        PROPERTY = "property", _("Property")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("name sent"), max_length=200)
    target = models.CharField(_("canonical name"), max_length=200)
    scope = models.CharField(_("on event"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("name mapping")
        verbose_name_plural = _("name mappings")
        constraints = [models.UniqueConstraint(fields=["kind", "scope", "source"], name="name_mapping_unique_source")]

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"

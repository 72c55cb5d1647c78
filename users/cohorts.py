"""Segments as report restrictions (ops_platform/core/cohorts.py): members as person ids, read where they are stored."""

from __future__ import annotations

from users.models import Segment, SegmentMember


def segment_person_ids(segment_id: int):
    if not Segment.objects.filter(pk=segment_id).exists():
        return None
    return SegmentMember.objects.filter(segment_id=segment_id).values("customer_id")


def segment_picker_choices() -> list[tuple[int, str]]:
    return list(Segment.objects.order_by("name").values_list("id", "name"))


def cohorts_register() -> None:
    from ops_platform.core.cohorts import segment_source_register

    segment_source_register(resolve=segment_person_ids, choices=segment_picker_choices)

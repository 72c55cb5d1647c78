"""ops_platform.core.clock: an instant pinned for what a block computes, gone after it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from ops_platform.core import clock
from ops_platform.core.periods import local_today


def test_as_of_pins_now_and_today_within_the_block_only():
    moment = datetime(2026, 11, 18, 17, 30, tzinfo=UTC)  # 01:30 on the 19th in Shanghai
    real = clock.now()
    with clock.as_of(moment):
        assert clock.now() == moment
        assert local_today() == date(2026, 11, 19)
        with clock.as_of(None):  # an inner block may read the real clock again
            assert clock.now() != moment
        assert clock.now() == moment
    assert clock.now() >= real and local_today() == timezone.localdate()


def test_as_of_refuses_a_naive_time_and_resets_after_an_error():
    with pytest.raises(ValueError), clock.as_of(datetime(2026, 11, 18, 9)):
        pass
    with pytest.raises(RuntimeError), clock.as_of(datetime(2020, 1, 1, tzinfo=UTC)):
        raise RuntimeError
    assert clock.now().year == timezone.now().year

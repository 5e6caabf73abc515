"""bench/loss_soak.py's counting: the loss model and takeovers read from a capture."""

from __future__ import annotations

import pytest

from bench.loss_model import (
    consecutive_losses,
    expected_takeovers,
    late_gaps,
    poisson_range,
    takeovers,
)
from failover.protocol.router import master_down_interval

R1, R2 = "192.0.2.1", "192.0.2.2"


@pytest.mark.parametrize(("version", "interval"), [(2, 1.0), (2, 2.0), (3, 0.1), (3, 1.0)])
def test_three_losses_make_a_takeover_of_a_priority_100_backup(
    version: int, interval: float
) -> None:
    mdi = master_down_interval(100, interval, version)
    assert consecutive_losses(mdi, interval) == 3


def test_an_exact_multiple_needs_one_loss_less() -> None:
    assert consecutive_losses(4.0, 1.0) == 3  # the 4th advert arrives as the timer fires
    assert consecutive_losses(3.5, 1.0) == 3
    assert consecutive_losses(2.9, 1.0) == 2


def test_expected_runs_of_k_losses() -> None:
    assert expected_takeovers(600, 0.3, 3) == pytest.approx(600 * 0.7 * 0.027)
    assert expected_takeovers(600, 0.0, 3) == 0


def test_late_gaps_count_what_the_backup_heard() -> None:
    heard = [0.0, 1.0, 2.0, 6.0, 7.0, 12.0, 13.0]  # gaps of 4 and 5 s, both > 3.609
    assert late_gaps(heard, 3.609, 0.5, 20.0) == 2
    assert late_gaps(heard, 3.609, 6.5, 20.0) == 1  # the first gap opened before the start
    assert late_gaps(heard, 3.609, 0.5, 5.0) == 1  # the second opens after the stop


def test_a_takeover_runs_from_the_backups_advert_to_the_masters_next() -> None:
    adverts = [
        (1.0, R1, 1, 200),
        (4.6, R2, 1, 100),  # r2 took over
        (5.6, R2, 1, 100),
        (6.0, R1, 1, 200),  # r2 heard r1: back to BACKUP
        (7.0, R1, 1, 200),
        (10.7, R2, 1, 100),  # again, still master at the end
    ]
    assert takeovers(adverts, R1, R2, 0.0, 20.0) == [(4.6, 6.0), (10.7, None)]
    assert takeovers(adverts, R1, R2, 5.0, 20.0) == [(10.7, None)]


def test_a_goodbye_is_no_takeover() -> None:
    adverts = [(1.0, R1, 1, 200), (2.0, R2, 1, 0), (3.0, R1, 1, 200)]
    assert takeovers(adverts, R1, R2, 0.0, 10.0) == []


def test_the_poisson_range_holds_the_central_95_percent() -> None:
    assert poisson_range(0.0) == (0, 0)
    assert poisson_range(0.5) == (0, 2)  # P(0) = 0.61; P(<= 1) = 0.91, P(<= 2) = 0.986
    assert poisson_range(11.3) == (5, 18)

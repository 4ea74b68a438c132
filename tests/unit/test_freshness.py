"""Which cached aggregates a process may serve without reading the log (shared.freshness)."""
import pytest

from shared.freshness import MARKS_LIMIT, Freshness

pytestmark = pytest.mark.unit
ME = "host:100"


def listening() -> Freshness:
    freshness = Freshness()
    freshness.listening = True
    return freshness


def test_an_aggregate_known_current_stays_fresh_while_only_this_process_commits():
    freshness = listening()
    freshness.confirm("a", freshness.mark())
    freshness.heard(f"41 {ME}", ME)
    assert freshness.fresh("a") and not freshness.fresh("b")


def test_a_commit_by_another_process_makes_every_cached_aggregate_read_again():
    freshness = listening()
    freshness.confirm("a", freshness.mark())
    freshness.heard("42 host:200", ME)
    assert not freshness.fresh("a")
    freshness.confirm("a", freshness.mark())  # read again after the notice
    assert freshness.fresh("a")


def test_a_notice_in_a_shape_not_known_counts_as_another_process():
    freshness = listening()
    freshness.confirm("a", freshness.mark())
    freshness.heard("42", ME)
    assert not freshness.fresh("a")


def test_a_mark_taken_before_a_foreign_commit_is_not_fresh_after_it():
    freshness = listening()
    mark = freshness.mark()  # a read starts ...
    freshness.heard("43 host:200", ME)  # ... another instance commits before it is confirmed
    freshness.confirm("a", mark)
    assert not freshness.fresh("a")


def test_nothing_is_fresh_without_a_listener_or_after_it_lost_its_connection():
    freshness = Freshness()
    freshness.confirm("a", freshness.mark())
    assert not freshness.fresh("a")
    freshness.listening = True
    assert freshness.fresh("a")
    freshness.lost()
    freshness.listening = True  # connected again: notices may have been missed meanwhile
    assert not freshness.fresh("a")


def test_a_forgotten_aggregate_is_read_again_and_the_marks_stay_bounded():
    freshness = listening()
    freshness.confirm("a", freshness.mark())
    freshness.forget("a")
    assert not freshness.fresh("a")
    for n in range(MARKS_LIMIT + 1):
        freshness.confirm(n, freshness.mark())
    assert len(freshness._marks) <= MARKS_LIMIT

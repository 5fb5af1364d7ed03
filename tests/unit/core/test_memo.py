"""``core.memo.IdentityMemo``: one answer per object (not per equal value), kept with the object."""

from __future__ import annotations

from tlsdiag.core.memo import IdentityMemo


def test_one_answer_per_object_and_variant() -> None:
    made: list[list[int]] = []

    def make(obj: list[int]) -> int:
        made.append(obj)
        return sum(obj)

    memo: IdentityMemo[list[int], int] = IdentityMemo(4)
    first, equal = [1, 2, 3], [1, 2, 3]
    assert first == equal and first is not equal
    assert memo.get(first, make) == memo.get(first, make) == 6
    assert len(made) == 1
    assert memo.get(equal, make) == 6 and len(made) == 2  # an equal object is another object
    assert memo.get(first, lambda obj: -1, "other variant") == -1
    assert memo.get(first, make) == 6 and len(made) == 2


def test_past_its_limit_it_starts_over_and_never_answers_for_a_reused_id() -> None:
    memo: IdentityMemo[list[int], int] = IdentityMemo(2)
    for i in range(5):
        # Each list dies after its turn unless the memo keeps it: a new list could take its
        # id, and must still get its own answer.
        assert memo.get([i], lambda obj: obj[0]) == i
    keep = [7]
    assert memo.get(keep, lambda obj: 7) == 7
    assert memo.get(keep, lambda obj: -1) == 7

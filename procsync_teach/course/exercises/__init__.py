"""Checks for the course's exercises: each says "correct", or gives a hint.

Every exercise in a notebook ends with a call such as ``check_counter(my_answer)``.
The check runs the learner's code (in processes, where that is the point) and
returns a :class:`Verdict`, which Jupyter shows as one line: a tick and what was
right, or a cross and a hint towards the fix. A verdict is truthy when correct,
so tests can ``assert`` it.

The checks live in one module per notebook (``garbled``, ``locks``, ``pools``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Verdict(NamedTuple):
    """The outcome of a check: ``ok`` and the sentence a learner reads."""

    ok: bool
    text: str

    def __repr__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return self.ok


def correct(praise: str) -> Verdict:
    """The verdict for a right answer."""
    return Verdict(True, f"✅ Correct! {praise}")


def hint(advice: str) -> Verdict:
    """The verdict for an answer that is not right yet, with a hint towards the fix."""
    return Verdict(False, f"❌ Not yet. Hint: {advice}")


def not_done() -> Verdict:
    """The verdict for an exercise still holding its placeholder (``...``)."""
    return hint("replace the `...` in the exercise cell with your code, then run it again.")


def not_a_function(answer: object, call: str) -> Verdict | None:
    """The verdict for an answer that should be a function and is not one yet, or None
    if it is one. ``call`` shows the right use, e.g. ``"check_report(print_report)"``."""
    if answer is Ellipsis:
        return not_done()
    if not callable(answer):
        return hint(f"pass your function itself: {call}.")
    return None


def method_name(answer: object) -> str:
    """The bare method name in an answer: "pool.close()", "Close" or Pool.close -> "close"."""
    name = getattr(answer, "__name__", answer)
    return str(name).strip().lower().removesuffix("()").rpartition(".")[2]


def letters(answer: object) -> set[str] | None:
    """The letters a learner chose: {"A", "C"}, ["a", "c"], "A, C" and "AC" all mean
    {"A", "C"}. None if the answer is not a collection of letters at all."""
    if isinstance(answer, str):
        answer = answer.replace(",", "").replace(" ", "")
    try:
        return {str(letter).strip().upper() for letter in answer}
    except TypeError:
        return None


def not_a_choice(answer: object, offered: Iterable[str], things: str) -> Verdict | None:
    """The verdict for an answer that should be a set of the ``offered`` letters and is not
    one yet, or None if it is one. ``things`` names what the letters stand for: "scripts"."""
    if answer is Ellipsis:
        return not_done()
    chosen = letters(answer)
    if chosen is None:
        return hint('answer with a set of letters, such as {"A", "C"}.')
    unknown = sorted(chosen - set(offered))
    if unknown:
        *others, last = sorted(offered)
        return hint(f"there are only {things} {', '.join(others)} and {last}, "
                    f"not {', '.join(unknown)}.")
    return None


def check_choices(choices: object, right: dict[str, str], why: dict[str, str],
                  praise: str) -> Verdict:
    """Check a learner's pick for each scenario: a dict such as ``{"A": "apply", ...}``.

    ``right`` maps each scenario letter to the right name, ``why`` each letter to the
    hint for a wrong pick; the names in ``right`` are the ones a learner may choose from.
    Names are compared with :func:`method_name`, so "pool.map()" counts as "map".
    """
    if not isinstance(choices, dict):
        return not_done() if choices is Ellipsis or choices is None else hint(
            'give a dict that maps each scenario letter to a name, e.g. {"A": "map", ...}.')
    if any(value is Ellipsis or value is None for value in choices.values()):
        return not_done()
    missing = sorted(set(right) - set(choices))
    if missing:
        return hint(f"choose for scenario {', '.join(missing)} too.")
    options = list(dict.fromkeys(right.values()))
    for letter, answer in right.items():
        chosen = method_name(choices[letter])
        if chosen not in options:
            return hint(f"scenario {letter}: {chosen!r} is not one of {', '.join(options)}.")
        if chosen != answer:
            return hint(f"scenario {letter}: not {chosen}. {why[letter]}")
    return correct(praise)

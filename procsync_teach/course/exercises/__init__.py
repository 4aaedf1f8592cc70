"""Checks for the course's exercises: each says "correct", or gives a hint.

Every exercise in a notebook ends with a call such as ``check_counter(my_answer)``.
The check runs the learner's code (in processes, where that is the point) and
returns a :class:`Verdict`, which Jupyter shows as one line: a tick and what was
right, or a cross and a hint towards the fix. A verdict is truthy when correct,
so tests can ``assert`` it.

The checks live in one module per notebook (``garbled``, ``locks``, ``pools``, ...).
"""

from __future__ import annotations

import dis
import inspect
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


def not_answered() -> Verdict:
    """The verdict for an exercise still holding its placeholder (``...``): nothing was
    tried yet, so there is nothing to hint at."""
    return Verdict(False, "⏳ Not answered yet: replace the `...` with your answer, then run "
                          "the cell again.")


def does_nothing(function: object) -> bool:
    """Whether ``function`` is still an exercise's stub: ``...`` itself, or a function whose
    body is only ``...``, ``pass`` or a docstring."""
    if not callable(function) or function is Ellipsis:
        return True
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("RESUME", "NOP", "RETURN_VALUE", "RETURN_CONST"):
            continue
        if instruction.opname == "LOAD_CONST" and instruction.argval is None:
            continue
        return False
    return True


def still_has_placeholder(function: object) -> bool:
    """Whether ``function``'s source still holds the exercise's placeholder: a line that is
    only ``...`` (a comment may follow). False when the source cannot be read.

    Python compiles a bare ``...`` to nothing, so only the source shows that a function
    whose other lines were given by the exercise has not been touched yet.
    """
    try:
        source = inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False
    return any(line.split("#")[0].strip() == "..." for line in source.splitlines())


def not_a_function(answer: object, call: str) -> Verdict | None:
    """The verdict for an answer that should be a function and is not one yet, or None
    if it is one. ``call`` shows the right use, e.g. ``"check_report(print_report)"``."""
    if answer is Ellipsis:
        return not_answered()
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


def check_choices(
    answers: object, choices: dict[str, tuple[set[str], str]], options: tuple[str, ...],
    item: str, praise: str,
) -> Verdict:
    """Check an answer that picks one of ``options`` for each lettered item.

    ``answers`` maps letters to names (``{"a": "Semaphore", ...}``) or to objects with such
    a name. ``choices`` maps each letter to the names accepted (lower case) and what the
    item is like; a hint names the first item that is wrong and says what it is like,
    never which option is right. ``item`` is what the letters stand for: "situation".
    """
    if answers is Ellipsis or (
        isinstance(answers, dict) and all(value is Ellipsis for value in answers.values())
    ):
        return not_answered()
    if not isinstance(answers, dict) or sorted(map(str, answers)) != sorted(choices):
        return hint(f"answer with a dict with the keys {', '.join(sorted(choices))}, as in "
                    "the exercise cell.")
    for letter, (right, nature) in choices.items():
        chosen = answers[letter]
        if chosen is Ellipsis:
            return hint(f"{item} {letter} is not answered yet.")
        name = method_name(chosen)
        if name not in {option.lower() for option in options}:
            return hint(f"{item} {letter}: pick one of {', '.join(options)}.")
        if name not in right:
            return hint(f"{item} {letter} is not right yet: it {nature}.")
    return correct(praise)


def not_a_choice(answer: object, offered: Iterable[str], things: str) -> Verdict | None:
    """The verdict for an answer that should be a set of the ``offered`` letters and is not
    one yet, or None if it is one. ``things`` names what the letters stand for: "scripts"."""
    if answer is Ellipsis:
        return not_answered()
    chosen = letters(answer)
    if chosen is None:
        return hint('answer with a set of letters, such as {"A", "C"}.')
    unknown = sorted(chosen - set(offered))
    if unknown:
        *others, last = sorted(offered)
        return hint(f"there are only {things} {', '.join(others)} and {last}, "
                    f"not {', '.join(unknown)}.")
    return None


"""Checks for the exercises of notebook 14, "Deep dive: the dispatcher" (optional).

Both are questions answered by reading ``pool.py`` and trying it: the learner picks
letters, and a hint names the statement or the choice that is not right yet.

* :func:`check_line_up`: which statements about lining jobs up behind a busy worker are
  true;
* :func:`check_feeders`: why the dispatcher goes on after ``close()`` while an ``imap``
  is still feeding.
"""

from __future__ import annotations

from . import Verdict, correct, hint, letters, not_answered

#: The statements of exercise 1: whether each is true, and where to look again.
LINE_UP_STATEMENTS = {
    "A": (True, "look at the conditions a job must meet to wait behind a busy worker"),
    "B": (False, "could a worker whose last job took one second meet the condition about "
                 "how long the last job took?"),
    "C": (True, "look at how the jobs given in one lap are sent to a worker"),
    "D": (False, "compare the constant with the length it is compared to: whose list "
                 "of jobs is that?"),
}


def check_line_up(true_statements: object) -> Verdict:
    """Check the letters of the true statements about lining up (exercise 1)."""
    if true_statements is Ellipsis:
        return not_answered()
    chosen = letters(true_statements)
    if chosen is None or not chosen <= set(LINE_UP_STATEMENTS):
        return hint("give the letters of the true statements, such as {\"A\", \"D\"} or "
                    "\"AD\", from A to D.")
    for letter, (true, where) in LINE_UP_STATEMENTS.items():
        if (letter in chosen) != true:
            said = "true" if letter in chosen else "false"
            return hint(f"statement {letter} is not {said}: {where}.")
    return correct("only jobs of a function that just ran quickly line up, behind a worker "
                   "that runs that function, all in one message; everything else waits in "
                   "the pool for the first idle worker.")


#: The choices of exercise 2: the right one, and what is wrong with each other one.
FEEDER_CHOICES = {
    "A": "",
    "B": "the feeder thread reads the input itself, in the caller's process, with no help "
         "from the dispatcher",
    "C": "close() stops nothing that runs: workers are only stopped once the dispatcher's "
         "loop ends",
}


def check_feeders(choice: object) -> Verdict:
    """Check which reason the learner gives for the dispatcher going on (exercise 2)."""
    if choice is Ellipsis:
        return not_answered()
    chosen = letters(choice)
    if chosen is None or len(chosen) != 1 or not chosen <= set(FEEDER_CHOICES):
        return hint("give one letter: \"A\", \"B\" or \"C\".")
    (letter,) = chosen
    wrong = FEEDER_CHOICES[letter]
    if wrong:
        return hint(f"not {letter}: {wrong}. Look at what the feeder does with each chunk.")
    return correct("an imap's input keeps turning into jobs after close(), and close() "
                   "promises that queued work still runs, so the dispatcher waits for the "
                   "feeders too.")

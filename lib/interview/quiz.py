"""Quiz scoring: pure functions over the questions and the answers given so far.

The page keeps ``{question id: chosen option index}`` in the session and asks this module
for the score, so the rule (a question counts once, when its answer is revealed) is tested
here rather than in widget code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lib.interview.content import QuizQuestion


@dataclass(frozen=True)
class QuizScore:
    """Where a quiz stands.

    Attributes:
        correct: Answered correctly.
        answered: Answered (revealed) so far.
        total: Questions in the quiz.
        wrong: Ids of the questions answered wrongly, in quiz order.
    """

    correct: int
    answered: int
    total: int
    wrong: tuple[str, ...]

    @property
    def finished(self) -> bool:
        """True once every question is answered."""
        return self.answered == self.total

    @property
    def percent(self) -> float:
        """Share of answered questions that were right, 0–100 (0 before any answer)."""
        return 100.0 * self.correct / self.answered if self.answered else 0.0


def is_correct(question: QuizQuestion, choice: int | None) -> bool:
    """Whether ``choice`` is the right option.

    Args:
        question: The question.
        choice: Option index chosen, or None.

    Returns:
        True for the right option.
    """
    return choice is not None and int(choice) == question.answer


def grade(questions: Sequence[QuizQuestion], answers: Mapping[str, int | None]) -> QuizScore:
    """Score the answers given so far.

    Args:
        questions: The quiz.
        answers: Question id → chosen option index (None or absent: not answered).
            Ids of other questions are ignored.

    Returns:
        The score.

    Raises:
        ValueError: If a choice is not an option of its question.
    """
    correct = answered = 0
    wrong: list[str] = []
    for q in questions:
        choice = answers.get(q.id)
        if choice is None:
            continue
        if not 0 <= int(choice) < len(q.options):
            raise ValueError(f"question {q.id!r} has no option {choice}")
        answered += 1
        if is_correct(q, choice):
            correct += 1
        else:
            wrong.append(q.id)
    return QuizScore(correct, answered, len(questions), tuple(wrong))


def next_question(questions: Sequence[QuizQuestion], answers: Mapping[str, int | None]) -> int | None:
    """Index of the first unanswered question.

    Args:
        questions: The quiz.
        answers: Answers so far.

    Returns:
        The index, or None when all are answered.
    """
    for i, q in enumerate(questions):
        if answers.get(q.id) is None:
            return i
    return None

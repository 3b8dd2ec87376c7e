"""Cohen's kappa and the confusion matrix, checked against scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from lib.labelling import agreement


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_equals_sklearn_on_random_labels(weights):
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 80))
        a = rng.integers(0, 3, n)
        b = np.where(rng.random(n) < 0.6, a, rng.integers(0, 3, n))
        mine = agreement.cohen_kappa(a.tolist(), b.tolist(), weights=weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = cohen_kappa_score(a, b, weights=weights, labels=[0, 1, 2])
        if mine is None:
            assert np.isnan(ref)
        else:
            assert mine == pytest.approx(ref, abs=1e-12)


def test_known_values_and_undefined():
    assert agreement.cohen_kappa([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    assert agreement.cohen_kappa([2, 2, 2], [2, 2, 2]) is None  # no chance disagreement
    assert agreement.cohen_kappa([], []) is None
    # Cohen (1960)-style textbook case: 2x2 collapsed into grades 0/1.
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.4)


def test_confusion_matrix_equals_sklearn():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    assert (agreement.confusion_matrix(a.tolist(), b.tolist()) == confusion_matrix(a, b, labels=[0, 1, 2])).all()
    ag = agreement.agreement_from_labels("p", "q", a.tolist(), b.tolist())
    assert ag.confusion.index.name == "p" and int(ag.confusion.to_numpy().sum()) == 50
    assert ag.observed == pytest.approx(float((a == b).mean()))
    with pytest.raises(ValueError):
        agreement.confusion_matrix([0, 3], [0, 1])


def test_interpretation():
    assert [agreement.interpret(k) for k in (None, -0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "undefined", "poor", "slight", "fair", "moderate", "substantial", "almost perfect"]

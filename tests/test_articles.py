"""lib.articles: the two source articles, named so a reader can find them.

Every user-facing mention of the articles goes through :mod:`lib.articles`; no page, help
text, data file or report calls them "seed 000", "seed 002" or "the seeds" (which no reader
can look up). Random seeds (``seed=`` parameters, ``--seed``) are the only "seed" allowed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lib import articles, report
from lib.decision import shortlist as sl_mod
from lib.decision import tree as tree_mod
from lib.evaluation import engine

ROOT = Path(__file__).resolve().parent.parent
SEED = re.compile(r"\bseeds?\b", re.IGNORECASE)
#: Each article's text in ../shared (file name prefix).
FILES = {"explained": "000_", "rag-guide-2026": "002_"}

#: The only string literals allowed to say "seed": random-seed parameters, exactly.
ALLOWED_LITERALS = {
    ("lib/commands/evaluate.py", "--seed"),
    ("lib/commands/label.py", "--seed"),  # the random sample of documents for synthetic queries
}


def _docstring_ids(tree: ast.AST) -> set[int]:
    """``id()`` of every docstring node (module, class, function): developer text, not shown."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string literal in a Python file (f-string parts included), docstrings excepted."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstring_ids(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    )


def _py_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for d in ("pages", "ui", "lib"):
        files += sorted((ROOT / d).rglob("*.py"))
    return files


def _data_files() -> list[Path]:
    return [*sorted(p for p in (ROOT / "data").rglob("*") if p.suffix in {".json", ".md", ".csv"}), ROOT / "README.md"]


def test_scanner_sees_f_strings_help_texts_and_skips_docstrings(tmp_path: Path) -> None:
    """The scan itself can fail: it finds a seed in an f-string and a help text, not in a docstring."""
    f = tmp_path / "x.py"
    f.write_text(
        '"""Module docstring about seeds."""\n'
        "def g(n):\n"
        '    """Seed docstring."""\n'
        '    st.number_input("n", help=f"the seed figure {n}")\n'
        '    return f"{n} from seed 002"\n'
    )
    hits = [text for _, text in _literals(f) if SEED.search(text)]
    assert hits == ["the seed figure ", " from seed 002"]
    assert not SEED.search("seedling reseeded")  # word boundaries: only the word itself


def test_no_seed_in_user_facing_strings_of_code() -> None:
    hits = []
    for path in _py_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, text in _literals(path):
            if SEED.search(text) and (rel, text) not in ALLOWED_LITERALS:
                hits.append(f"{rel}:{line}: {text[:90]!r}")
    assert not hits, "say which article (lib.articles), not 'seed':\n" + "\n".join(hits)


def test_no_seed_in_help_texts_read_from_docstrings() -> None:
    """The cost page's help texts come from CostAssumptions' docstring, so it is user-facing too."""
    from lib import cost

    hits = {k: v for k, v in cost.assumption_help().items() if SEED.search(v)}
    assert not hits, hits


def test_allow_list_is_exact_and_still_needed() -> None:
    """Every allowed literal still exists (a stale allow-list would hide nothing but confuse)."""
    for rel, text in ALLOWED_LITERALS:
        assert any(t == text for _, t in _literals(ROOT / rel)), (rel, text)


def test_no_seed_in_data_files_or_readme() -> None:
    hits = []
    for path in _data_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SEED.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:90]}")
    assert not hits, "\n".join(hits)


# --- the module ------------------------------------------------------------------------


def test_articles_are_named_as_their_texts_say(shared_dir: Path) -> None:
    texts = {k: next((shared_dir / "seeds").glob(f"{p}*.txt")).read_text(encoding="utf-8") for k, p in FILES.items()}
    assert set(articles.ARTICLES) == set(FILES)
    ex = articles.get("explained")
    assert texts["explained"].splitlines()[0] == ex.title  # the title is the text's first line
    assert ex.publisher == "Algoroq" and "Algoroq Pricing" in texts["explained"]
    assert ex.title in ex.citation and "Algoroq" in ex.citation and "Algoroq" in ex.short
    rag = articles.get("rag-guide-2026")
    assert not rag.titled  # our copy has no title: the citation gives its opening words instead
    assert rag.publisher == "KnowledgeSDK"
    guide = texts["rag-guide-2026"]
    assert "For the KnowledgeSDK use case" in guide and "KnowledgeSDK's API" in guide
    assert "2026" in texts["rag-guide-2026"] and "2026" in rag.title
    opening = rag.opening.rstrip("…")
    assert texts["rag-guide-2026"].startswith(opening) and len(opening) > 40
    assert rag.opening in rag.citation and "KnowledgeSDK" in rag.short
    for a in articles.ARTICLES.values():
        assert not SEED.search(a.title + a.short + a.citation)


def test_unknown_key_is_a_clear_error() -> None:
    with pytest.raises(articles.UnknownArticleError, match=r"'seed 000'.*explained, rag-guide-2026"):
        articles.get("seed 000")


def test_loaders_resolve_source_keys_through_the_module() -> None:
    from lib.interview import content

    tree = tree_mod.load_tree()
    keys = {w.source for q in tree.questions for w in q.why} | {p.expert.source for p in tree.presets}
    assert keys & set(articles.ARTICLES) == set(articles.ARTICLES)
    for k in keys & set(articles.ARTICLES):
        assert tree.attribution(k) == articles.get(k).short
        assert tree.sources[k] == articles.get(k).citation
    c = content.load_content()
    assert {q.source for s in c.sections for q in s.quotes} == set(articles.ARTICLES)
    assert all(c.sources[k] == articles.get(k).citation for k in articles.ARTICLES)


# --- a generated report ----------------------------------------------------------------


def test_generated_report_never_says_seed(lb_db: Path, tmp_path: Path) -> None:
    """A report with a run, a shortlist, the published throughput figures and the wizard's section."""
    db = tmp_path / "r.duckdb"
    config = engine.EvaluationConfig(models=("minilm", "bm25"))
    run = engine.evaluate(ROOT / "data" / "demo", config, db_path=db).run_id
    tree = tree_mod.load_tree()
    plan = tree_mod.resolve(tree, *tree_mod.preset_choices(tree, "multilingual_kb"))
    sl = sl_mod.build_shortlist(tree, plan, db=lb_db, n=5)
    assert sl.expert is not None  # the expert pick's attribution is in the section
    wizard = sl_mod.shortlist_markdown(tree, sl)
    assert articles.get("rag-guide-2026").short in wizard
    # A CPU instance priced out of reach, so MiniLM's cost takes the GPU path with the published
    # figures whatever this machine's measured latency (the CPU option comes from the run's timing).
    from lib.cost import CostAssumptions

    rep = report.build_report([run], db_path=db, shortlist=["BAAI/bge-m3", "sentence-transformers/all-MiniLM-L6-v2"],
                              decision_markdown=wizard, with_figures=False,
                              assumptions=CostAssumptions(cpu_usd_per_hour=1000.0))
    md = report.to_markdown(rep)
    # The paths that used to say "seed" are in it: MiniLM's self-host cost basis names the article.
    assert f"self-host: {articles.EXPLAINED.short}: small (384d)" in md
    assert "the articles' published figures by model size" in md
    for text in (md, report.to_html(rep)):
        found = [text[max(0, m.start() - 60):m.end() + 30] for m in SEED.finditer(text)]
        assert not found, found

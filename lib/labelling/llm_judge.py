"""LLM-assisted judging with UMBRELA's published prompt, one (query, passage) pair per request.

The prompt is UMBRELA's zero-shot "bing" prompt, copied verbatim (trailing spaces
included) from castorini/umbrela, ``src/umbrela/prompts/prompt_templates/
qrel_zeroshot_bing.yaml`` at commit e2c4e4126bf7b568d9230008b465a58445cabc30 (Apache-2.0),
the reproduction of the Bing relevance assessor described in Upadhyay, Pradeep, Thakur,
Craswell and Lin, "UMBRELA: UMbrela is the (Open-Source Reproduction of the) Bing RELevance
Assessor", arXiv:2406.06519 (2024). The request is built as umbrela's ``gpt_judge`` builds
it: system message "You are a helpful assistant.", the prompt as the user message,
temperature 0, top_p 1, frequency_penalty 0.5, presence_penalty 0, max_tokens 100.

The model answers on UMBRELA's 0–3 scale with ``##final score: N``. **Mapping to this
app's 0 / 1 / 2**: 0 → 0, 1 → 0, 2 → 1, 3 → 2. UMBRELA's 1 means "related to the query but
does not answer it"; TREC Deep Learning, whose assessments UMBRELA reproduces, counts only
grades 2 and 3 as relevant for binary measures, and our Recall@k counts every grade ≥ 1 as
relevant — so a topically related passage that does not answer must be 0 here, or every
passage on the same subject would count as a hit. UMBRELA's 2 ("has some answer, unclear or
among extraneous information") is our 1 (partly relevant), its 3 ("dedicated to the query,
contains the exact answer") our 2 (highly relevant). The raw 0–3 score is stored too.

An answer without a score is reported as *unparsed* and stores nothing (it is neither
cached nor a judgement; umbrela itself would silently count it as 0). Answers are cached
in ``llm_judge_cache`` per (query text, passage text, model@server, prompt version), so
a re-run — or another set with the same pairs — asks nothing twice; each answer's cache
row and judgement are written in one transaction, so a fault never leaves half of one.
A request that still fails after the client's retries stops the run with a clear error;
everything judged before it stays, and a re-run resumes from the cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lib import store
from lib.errors import UserError
from lib.labelling import store as lstore
from lib.labelling.chat import (
    ChatClient,
    ChatSpec,
    CostEstimate,
    check_budget,
    message_tokens,
    resolve_chat,
)

Progress = Callable[[str, float], None]

#: Where the prompt comes from (see the module docstring).
UMBRELA_SOURCE = ("castorini/umbrela@e2c4e4126bf7b568d9230008b465a58445cabc30:"
                  "src/umbrela/prompts/prompt_templates/qrel_zeroshot_bing.yaml")
PROMPT_VERSION = "umbrela-zeroshot-bing@e2c4e41"
SYSTEM_MESSAGE = "You are a helpful assistant."
# Verbatim, including the trailing spaces after "query," / "it," / "and" on lines 2–4.
UMBRELA_PROMPT = (
    "Given a query and a passage, you must provide a score on an integer scale of 0 to 3 with the following "
    "meanings:\n"
    "0 = represent that the passage has nothing to do with the query, \n"
    "1 = represents that the passage seems related to the query but does not answer it, \n"
    "2 = represents that the passage has some answer for the query, but the answer may be a bit unclear, or "
    "hidden amongst extraneous information and \n"
    "3 = represents that the passage is dedicated to the query and contains the exact answer.\n"
    "\n"
    "Important Instruction: Assign category 1 if the passage is somewhat related to the topic but not "
    "completely, category 2 if passage presents something very important related to the entire topic but also "
    "has some extra information and category 3 if the passage only and entirely refers to the topic. If none "
    "of the above satisfies give it category 0.\n"
    "\n"
    "Query: {query}\n"
    "Passage: {passage}\n"
    "\n"
    "Split this problem into steps:\n"
    "Consider the underlying intent of the search.\n"
    "Measure how well the content matches a likely intent of the query (M).\n"
    "Measure how trustworthy the passage is (T).\n"
    "Consider the aspects above and the relative importance of each, and decide on a final score (O). Final "
    "score must be an integer value only.\n"
    "Do not provide any code in result. Provide each score in the format of: ##final score: score without "
    "providing any reasoning."
)
#: umbrela's request parameters for chat-completion models (gpt_judge._build_completion_params).
REQUEST_PARAMS = {"temperature": 0.0, "top_p": 1, "frequency_penalty": 0.5, "presence_penalty": 0}
MAX_TOKENS = 100
#: Output tokens an answer usually takes (``##final score: 2``), for the expected cost.
EXPECTED_OUTPUT_TOKENS = 8
#: UMBRELA 0–3 → this app's 0 / 1 / 2 (see the module docstring for why).
GRADE_MAP = {0: 0, 1: 0, 2: 1, 3: 2}

_SCORE = re.compile(r"#*\s*final\s+score\s*[:=]?\s*\**\s*([0-3])(?![0-9])", re.IGNORECASE)


def messages(query: str, passage: str) -> list[dict[str, str]]:
    """The request's messages for one pair.

    Args:
        query: Query text.
        passage: Document text.

    Returns:
        System and user messages.
    """
    return [
        {"role": "system", "content": SYSTEM_MESSAGE},
        {"role": "user", "content": UMBRELA_PROMPT.format(query=query, passage=passage)},
    ]


def parse_score(answer: str) -> int | None:
    """UMBRELA's score from an answer (the last ``##final score: N``), or None.

    Args:
        answer: The model's text.

    Returns:
        0–3, or None when the answer holds no score.
    """
    found = _SCORE.findall(answer or "")
    return int(found[-1]) if found else None


def to_grade(raw: int) -> int:
    """Map UMBRELA's 0–3 to 0 / 1 / 2.

    Args:
        raw: 0–3.

    Returns:
        The grade.
    """
    return GRADE_MAP[raw]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class JudgeReport:
    """What one LLM judging run did.

    Attributes:
        judge: The judge name stored with the judgements.
        pairs: Pairs considered.
        requests: Requests sent (and answered).
        cache_hits: Pairs answered from the cache.
        judged: Judgements stored.
        unparsed: (query_id, doc_id, answer) of answers without a score (nothing stored).
        prompt_tokens: Input tokens billed.
        completion_tokens: Output tokens billed.
        cost_usd: Cost of the tokens billed (None when the price is unknown).
        estimate: The estimate made before sending.
    """

    judge: str
    pairs: int
    requests: int
    cache_hits: int
    judged: int
    unparsed: tuple[tuple[str, str, str], ...]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    estimate: CostEstimate


def default_judge_name(spec: ChatSpec) -> str:
    """``llm:MODEL`` — the judge name LLM judgements are stored under.

    Args:
        spec: The chat model.

    Returns:
        The name.
    """
    return f"llm:{spec.name}"


def pairs_to_judge(
    db: lstore.DbPath, set_id: str, judge: str, *, only_judged_by: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Pooled pairs the LLM judge has not graded yet, with their texts.

    Args:
        db: DuckDB file.
        set_id: The set.
        judge: The LLM judge's name.
        only_judged_by: Only pairs this (human) judge graded — to measure agreement first.
        limit: At most this many pairs (in query order).

    Returns:
        Columns query_id, doc_id, query, document.
    """
    lstore.get_set(db, set_id)
    with store.connect(db) as cur:
        df = cur.execute(
            "SELECT DISTINCT p.query_id, p.doc_id, q.text AS query, d.text AS document, q.position"
            " FROM label_pool p JOIN label_queries q USING (set_id, query_id)"
            " JOIN label_docs d ON d.set_id = p.set_id AND d.doc_id = p.doc_id"
            " WHERE p.set_id = ? AND NOT EXISTS (SELECT 1 FROM label_judgements j WHERE j.set_id = p.set_id"
            "   AND j.query_id = p.query_id AND j.doc_id = p.doc_id AND j.judge = ?)",
            [set_id, judge],
        ).df()
    if only_judged_by is not None:
        done = lstore.latest_judgements(db, set_id, [only_judged_by])
        if done.empty:
            raise UserError(f"judge {only_judged_by!r} has no judgements in label set {set_id!r}")
        keep = set(zip(done["query_id"], done["doc_id"], strict=True))
        df = df[[(q, d) in keep for q, d in zip(df["query_id"], df["doc_id"], strict=True)]]
    df = df.sort_values(["position", "doc_id"]).drop(columns="position").reset_index(drop=True)
    return df.head(limit) if limit is not None else df


def _cached(db: lstore.DbPath, spec: ChatSpec, pairs: pd.DataFrame) -> dict[tuple[str, str], tuple[int, str]]:
    """Cached (raw score, answer) by (query hash, doc hash) for these pairs."""
    if pairs.empty:
        return {}
    keys = pd.DataFrame({"qh": [_hash(t) for t in pairs["query"]], "dh": [_hash(t) for t in pairs["document"]]})
    with store.connect(db) as cur:
        cur.register("_keys", keys)
        try:
            rows = cur.execute(
                "SELECT c.query_hash, c.doc_hash, c.raw_score, c.answer FROM llm_judge_cache c"
                " JOIN (SELECT DISTINCT qh, dh FROM _keys) k ON c.query_hash = k.qh AND c.doc_hash = k.dh"
                " WHERE c.model = ? AND c.prompt_version = ?",
                [spec.identity, PROMPT_VERSION],
            ).fetchall()
        finally:
            cur.unregister("_keys")
    return {(r[0], r[1]): (int(r[2]), str(r[3])) for r in rows}


def estimate(db: lstore.DbPath, spec: ChatSpec, pairs: pd.DataFrame) -> CostEstimate:
    """The cost of judging these pairs (cached pairs are free).

    Args:
        db: DuckDB file.
        spec: The chat model.
        pairs: Columns query, document (from :func:`pairs_to_judge`).

    Returns:
        The estimate.
    """
    cache = _cached(db, spec, pairs)
    todo = [(q, d) for q, d in zip(pairs["query"], pairs["document"], strict=True)
            if (_hash(q), _hash(d)) not in cache]
    tokens = sum(message_tokens(messages(q, d)) for q, d in todo)
    return CostEstimate(
        requests=len(todo), cached=len(pairs) - len(todo), input_tokens=tokens,
        expected_output_tokens=EXPECTED_OUTPUT_TOKENS * len(todo), max_output_tokens=MAX_TOKENS * len(todo),
        price_in=spec.price_in, price_out=spec.price_out, price_source=spec.price_source,
    )


def _store_answer(
    db: lstore.DbPath, set_id: str, spec: ChatSpec, judge: str, row: pd.Series, raw: int, answer: str,
    usage: tuple[int, int] | None,
) -> None:
    """Cache row (when fresh) and judgement, in one transaction."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.transaction(db) as cur:
        if usage is not None:
            cur.execute(
                "INSERT INTO llm_judge_cache (query_hash, doc_hash, model, prompt_version, raw_score, answer,"
                " prompt_tokens, completion_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [_hash(row["query"]), _hash(row["document"]), spec.identity, PROMPT_VERSION, raw, answer[:4000],
                 usage[0], usage[1], now],
            )
        cur.execute(
            "INSERT INTO label_judgements (set_id, query_id, doc_id, judge, kind, grade, created_at, model,"
            " prompt_version, raw_score) VALUES (?, ?, ?, ?, 'llm', ?, ?, ?, ?, ?)",
            [set_id, row["query_id"], row["doc_id"], judge, to_grade(raw), now, spec.identity, PROMPT_VERSION,
             raw],
        )


def judge_pairs(
    db: lstore.DbPath,
    set_id: str,
    model: str,
    *,
    pairs: pd.DataFrame | None = None,
    judge: str | None = None,
    api_key: str | None = None,
    max_cost: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_estimate: Callable[[CostEstimate], None] | None = None,
) -> JudgeReport:
    """Grade pooled pairs with a chat model (UMBRELA prompt), storing each answer as it comes.

    Args:
        db: DuckDB file.
        set_id: The set.
        model: Chat model spec (``openai:MODEL?base_url=…``).
        pairs: Pairs to judge (default :func:`pairs_to_judge`: every pooled pair not yet
            graded by this judge).
        judge: Judge name (default ``llm:MODEL``).
        api_key: Session key (never stored).
        max_cost: Refuse when the worst-case estimate is above this many USD.
        dry_run: Stop after the estimate.
        progress: ``progress(message, fraction)``.
        on_estimate: Called with the estimate before anything is sent.

    Returns:
        The report.

    Raises:
        UserError: For a bad spec, a cost above ``max_cost``, or a request failing after
            retries (judgements made before it are kept).
    """
    spec = resolve_chat(model)
    name = lstore.check_judge(judge or default_judge_name(spec))
    todo = pairs if pairs is not None else pairs_to_judge(db, set_id, name)
    est = estimate(db, spec, todo)
    if on_estimate:
        on_estimate(est)
    check_budget(est, max_cost)
    if dry_run:
        return JudgeReport(name, len(todo), 0, 0, 0, (), 0, 0, 0.0, est)
    cache = _cached(db, spec, todo)
    client = ChatClient(spec, api_key=api_key) if est.requests else None
    hits = judged = 0
    unparsed: list[tuple[str, str, str]] = []
    total = len(todo)
    for i, row in enumerate(todo.itertuples(index=False)):
        r = pd.Series(row._asdict())
        key = (_hash(r["query"]), _hash(r["document"]))
        if key in cache:
            raw, answer = cache[key]
            usage = None
            hits += 1
        else:
            assert client is not None
            try:
                ans = client.complete(messages(r["query"], r["document"]), max_tokens=MAX_TOKENS, **REQUEST_PARAMS)
            except UserError as exc:
                raise UserError(
                    f"{exc} — {judged} judgement(s) were saved before this; run again to continue "
                    "(answers already received are cached)"
                ) from None
            score = parse_score(ans.text)
            if score is None:
                unparsed.append((str(r["query_id"]), str(r["doc_id"]), client.redact(ans.text)[:300]))
                continue
            raw, answer, usage = score, ans.text, (ans.prompt_tokens, ans.completion_tokens)
            cache[key] = (raw, answer)
        _store_answer(db, set_id, spec, name, r, raw, answer, usage)
        judged += 1
        if progress:
            progress(f"judged {i + 1}/{total}", (i + 1) / max(total, 1))
    return JudgeReport(
        judge=name, pairs=total, requests=client.requests if client else 0, cache_hits=hits, judged=judged,
        unparsed=tuple(unparsed), prompt_tokens=client.prompt_tokens if client else 0,
        completion_tokens=client.completion_tokens if client else 0,
        cost_usd=client.cost_usd() if client else 0.0, estimate=est,
    )


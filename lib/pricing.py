"""Published embedding prices with their sources, and the user's overrides.

``data/pricing.csv`` holds one row per (model, source): where two sources disagree both
rows are kept and every row of that model is flagged ``conflict``. A price whose
``date_checked`` is more than :data:`STALE_AFTER_DAYS` before ``today`` is flagged
``stale``. A user can override any price in the session (passed in as
:class:`PriceOverride`) or in a local, git-ignored file (``data/prices.local.csv``, path
overridable with ``EMS_PRICES_LOCAL``); an override wins and is labelled as the user's.

Model names are mteb's where the model is in mteb (``openai/text-embedding-3-small``), so
the leaderboard can join on them; :func:`price_for` also resolves aliases (mteb's
``ModelMeta`` calls Voyage ``mongodb/voyage-3`` while the results call it
``voyageai/voyage-3``) and variant suffixes such as ``" (embed_dim=512)"``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd

from lib.config import DATA_DIR
from lib.errors import UserError

PRICING_CSV = DATA_DIR / "pricing.csv"
DEFAULT_LOCAL_PRICES = DATA_DIR / "prices.local.csv"
LOCAL_PRICES_ENV = "EMS_PRICES_LOCAL"
#: Prices checked longer ago than this are flagged stale (the issue's 180 days).
STALE_AFTER_DAYS = 180
HOSTING_KINDS = ("api", "hosted", "self-host")

REQUIRED_COLUMNS = (
    "provider",
    "model",
    "display_name",
    "aliases",
    "in_mteb",
    "open_weights",
    "params_millions",
    "hosting",
    "price_per_1m_tokens",
    "batch_price_per_1m_tokens",
    "free_tokens",
    "dimensions",
    "dimension_options",
    "max_input_tokens",
    "source_name",
    "source_url",
    "date_checked",
    "source_kind",
    "notes",
)
OVERRIDE_COLUMNS = (
    "model",
    "price_per_1m_tokens",
    "batch_price_per_1m_tokens",
    "date_checked",
    "note",
)

# Variants such as "openai/text-embedding-3-small (embed_dim=512)" bill like the base model.
_VARIANT_SUFFIX = re.compile(r"\s*\(.*\)\s*$")


@dataclass(frozen=True)
class PriceRecord:
    """One price of one model from one source (or the user's override).

    Attributes:
        provider: Who sells or publishes the model.
        model: mteb model name where the model is in mteb, else ``provider/model``.
        display_name: Short name for tables.
        hosting: ``api`` (the vendor's API), ``hosted`` (a third party hosting open
            weights) or ``self-host`` (open weights, no per-token price).
        price_per_1m_tokens: USD per 1M input tokens, or None for self-host-only rows.
        batch_price_per_1m_tokens: USD per 1M tokens through a batch API, if published.
        source_name: Who said so.
        source_url: Where a reader can check it ("" when the reference gave no URL).
        date_checked: When the price was read from the source.
        source_kind: ``official``, ``third-party`` or ``override``.
        aliases: Other names of the same model (mteb ModelMeta vs results names).
        in_mteb: Whether mteb knows the model.
        open_weights: Whether the weights are downloadable (so it can be self-hosted).
        params_millions: Parameter count in millions, when known.
        free_tokens: Tokens free per account, when the source mentions it.
        dimensions: Default output dimensions.
        dimension_options: Output sizes offered through MRL truncation (empty: none).
        max_input_tokens: Longest input accepted.
        notes: Anything a reader should know about this row.
        stale: More than :data:`STALE_AFTER_DAYS` old on the day prices were loaded.
        age_days: Days between ``date_checked`` and that day.
        conflict: Published sources for this model give different prices.
        session_override: The user's override made in the app (it beats the local file's).
    """

    provider: str
    model: str
    display_name: str
    hosting: str
    price_per_1m_tokens: float | None
    batch_price_per_1m_tokens: float | None
    source_name: str
    source_url: str
    date_checked: date
    source_kind: str
    aliases: tuple[str, ...] = ()
    in_mteb: bool = False
    open_weights: bool = False
    params_millions: float | None = None
    free_tokens: int | None = None
    dimensions: int | None = None
    dimension_options: tuple[int, ...] = ()
    max_input_tokens: int | None = None
    notes: str = ""
    stale: bool = False
    age_days: int = 0
    conflict: bool = False
    session_override: bool = False

    @property
    def is_override(self) -> bool:
        """Whether this row is the user's own price."""
        return self.source_kind == "override"

    @property
    def source_label(self) -> str:
        """One line naming the source, its kind and date, for captions and tables."""
        return f"{self.source_name} ({self.source_kind}, checked {self.date_checked.isoformat()})"


@dataclass(frozen=True)
class PriceOverride:
    """The user's own price for a model; it wins over every published source.

    Attributes:
        model: Model name as in ``data/pricing.csv`` (or any new name).
        price_per_1m_tokens: USD per 1M tokens.
        batch_price_per_1m_tokens: Optional batch price.
        date_checked: When the user checked it (None: the day prices are loaded).
        note: Free text, e.g. "our negotiated price".
        origin: ``session`` or ``local file``; shown in the source label.
    """

    model: str
    price_per_1m_tokens: float
    batch_price_per_1m_tokens: float | None = None
    date_checked: date | None = None
    note: str = ""
    origin: str = "session"


@dataclass(frozen=True)
class PriceBook:
    """All loaded price rows plus the one price per model the app uses.

    Attributes:
        records: Every row, published and overrides, with flags set.
        effective: One row per model: the override if any, else the most authoritative
            and most recent published source.
        today: The day the flags were computed for.
    """

    records: tuple[PriceRecord, ...]
    effective: Mapping[str, PriceRecord] = field(default_factory=dict)
    today: date = field(default_factory=date.today)

    def sources_for(self, model: str) -> list[PriceRecord]:
        """Every row for a model (any alias), effective first.

        Args:
            model: A model name or alias.

        Returns:
            The rows, possibly empty.
        """
        key = resolve_model_name(model, self.effective)
        rows = [r for r in self.records if r.model == key]
        best = self.effective.get(key) if key else None
        return sorted(rows, key=lambda r: r is not best)


def base_model_name(name: str) -> str:
    """Strip an mteb variant suffix such as ``" (embed_dim=512)"``.

    Args:
        name: A model name.

    Returns:
        The name without the parenthesised suffix.
    """
    return _VARIANT_SUFFIX.sub("", name).strip()


def local_prices_path() -> Path:
    """Where the user's local price overrides live (``EMS_PRICES_LOCAL`` or the default).

    Returns:
        The path (the file need not exist).
    """
    value = os.environ.get(LOCAL_PRICES_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_LOCAL_PRICES


def _where(path: Path, line: int, column: str) -> str:
    return f"{path.name} line {line}, field '{column}'"


def _opt_float(raw: str, path: Path, line: int, column: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"{_where(path, line, column)}: {raw!r} is not a number") from None
    if value < 0:
        raise UserError(f"{_where(path, line, column)}: {raw!r} must not be negative")
    return value


def _opt_int(raw: str, path: Path, line: int, column: str) -> int | None:
    value = _opt_float(raw, path, line, column)
    return None if value is None else int(value)


def _parse_date(raw: str, path: Path, line: int, column: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise UserError(f"{_where(path, line, column)}: {raw!r} is not a date (use YYYY-MM-DD)") from None


def _parse_bool(raw: str, path: Path, line: int, column: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0", ""):
        return False
    raise UserError(f"{_where(path, line, column)}: {raw!r} is not true/false")


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(";") if part.strip())


def _read_rows(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read price file {path}: {exc.strerror or exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(f"{path.name} line 1: missing column(s) {', '.join(missing)}")
    # Line numbers count the header as line 1, as a spreadsheet would show them.
    return [(i + 2, {k: (v or "") for k, v in row.items() if k}) for i, row in enumerate(reader)]


def read_pricing_csv(path: Path | None = None) -> list[PriceRecord]:
    """Read the published prices (flags not yet computed).

    Args:
        path: The CSV; defaults to ``data/pricing.csv``.

    Returns:
        One record per row.

    Raises:
        UserError: If a row is malformed (the message names the line and field).
    """
    path = path or PRICING_CSV
    records: list[PriceRecord] = []
    for line, row in _read_rows(path, REQUIRED_COLUMNS):
        model = row["model"].strip()
        if not model:
            raise UserError(f"{_where(path, line, 'model')}: empty model name")
        kind = row["source_kind"].strip()
        if kind not in ("official", "third-party"):
            raise UserError(f"{_where(path, line, 'source_kind')}: {kind!r} is not official or third-party")
        hosting = row["hosting"].strip()
        if hosting not in HOSTING_KINDS:
            raise UserError(f"{_where(path, line, 'hosting')}: {hosting!r} is not one of " + ", ".join(HOSTING_KINDS))
        price = _opt_float(row["price_per_1m_tokens"], path, line, "price_per_1m_tokens")
        if price is None and hosting != "self-host":
            raise UserError(f"{_where(path, line, 'price_per_1m_tokens')}: missing price for a {hosting} row")
        try:
            options = tuple(sorted(int(x) for x in _split(row["dimension_options"])))
        except ValueError:
            raise UserError(
                f"{_where(path, line, 'dimension_options')}: "
                f"{row['dimension_options']!r} is not a ';'-separated list of integers"
            ) from None
        records.append(
            PriceRecord(
                provider=row["provider"].strip(),
                model=model,
                display_name=row["display_name"].strip() or model,
                hosting=hosting,
                price_per_1m_tokens=price,
                batch_price_per_1m_tokens=_opt_float(
                    row["batch_price_per_1m_tokens"], path, line, "batch_price_per_1m_tokens"
                ),
                source_name=row["source_name"].strip(),
                source_url=row["source_url"].strip(),
                date_checked=_parse_date(row["date_checked"], path, line, "date_checked"),
                source_kind=kind,
                aliases=_split(row["aliases"]),
                in_mteb=_parse_bool(row["in_mteb"], path, line, "in_mteb"),
                open_weights=_parse_bool(row["open_weights"], path, line, "open_weights"),
                params_millions=_opt_float(row["params_millions"], path, line, "params_millions"),
                free_tokens=_opt_int(row["free_tokens"], path, line, "free_tokens"),
                dimensions=_opt_int(row["dimensions"], path, line, "dimensions"),
                dimension_options=options,
                max_input_tokens=_opt_int(row["max_input_tokens"], path, line, "max_input_tokens"),
                notes=row["notes"].strip(),
            )
        )
    return records


def read_overrides(path: Path | None = None) -> list[PriceOverride]:
    """Read the user's local override file; a missing file means no overrides.

    The file has the columns ``model, price_per_1m_tokens`` and optionally
    ``batch_price_per_1m_tokens, date_checked, note``.

    Args:
        path: The file; defaults to :func:`local_prices_path`.

    Returns:
        The overrides, in file order.

    Raises:
        UserError: If the file is malformed (the message names the line and field).
    """
    path = path or local_prices_path()
    if not path.exists():
        return []
    out: list[PriceOverride] = []
    for line, row in _read_rows(path, ("model", "price_per_1m_tokens")):
        model = row["model"].strip()
        if not model:
            raise UserError(f"{_where(path, line, 'model')}: empty model name")
        price = _opt_float(row["price_per_1m_tokens"], path, line, "price_per_1m_tokens")
        if price is None:
            raise UserError(f"{_where(path, line, 'price_per_1m_tokens')}: missing price")
        raw_date = row.get("date_checked", "").strip()
        out.append(
            PriceOverride(
                model=model,
                price_per_1m_tokens=price,
                batch_price_per_1m_tokens=_opt_float(
                    row.get("batch_price_per_1m_tokens", ""),
                    path,
                    line,
                    "batch_price_per_1m_tokens",
                ),
                date_checked=(_parse_date(raw_date, path, line, "date_checked") if raw_date else None),
                note=row.get("note", "").strip(),
                origin="local file",
            )
        )
    return out


def write_overrides(overrides: Iterable[PriceOverride], path: Path | None = None) -> Path:
    """Write overrides to the local file (replacing it), dated today when undated.

    Args:
        overrides: The overrides to keep.
        path: The file; defaults to :func:`local_prices_path`.

    Returns:
        The path written.

    Raises:
        UserError: If the file cannot be written.
    """
    path = path or local_prices_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(OVERRIDE_COLUMNS)
            for o in overrides:
                writer.writerow(
                    [
                        o.model,
                        f"{o.price_per_1m_tokens:g}",
                        "" if o.batch_price_per_1m_tokens is None else f"{o.batch_price_per_1m_tokens:g}",
                        (o.date_checked or date.today()).isoformat(),
                        o.note,
                    ]
                )
    except OSError as exc:
        raise UserError(f"cannot write price overrides to {path}: {exc.strerror or exc}") from None
    return path


def _override_record(o: PriceOverride, base: PriceRecord | None, today: date) -> PriceRecord:
    checked = o.date_checked or today
    name = f"your override ({o.origin})" + (f": {o.note}" if o.note else "")
    notes = ""
    if base is None:
        notes = "model not in data/pricing.csv"
        base = PriceRecord(provider="", model=o.model, display_name=o.model.split("/")[-1], hosting="api",
                           price_per_1m_tokens=None, batch_price_per_1m_tokens=None, source_name="", source_url="",
                           date_checked=checked, source_kind="override")
    return replace(
        base,
        # An override of a self-host-only model turns it into a priced ("hosted") one.
        hosting="hosted" if base.hosting == "self-host" else base.hosting,
        price_per_1m_tokens=o.price_per_1m_tokens,
        batch_price_per_1m_tokens=o.batch_price_per_1m_tokens,
        source_name=name,
        source_url="",
        date_checked=checked,
        source_kind="override",
        session_override=o.origin == "session",
        notes=notes,
        stale=False,
        conflict=False,
    )


_KIND_RANK = {"override": 0, "official": 1, "third-party": 2}


def _preference(r: PriceRecord) -> tuple[int, int, float, float]:
    # Override first (a session edit beats the file); then official over third-party; then
    # the most recent check; ties go to the higher price so a budget errs on the safe side.
    origin = 0 if r.session_override or not r.is_override else 1
    return (
        _KIND_RANK.get(r.source_kind, 9),
        origin,
        -r.date_checked.toordinal(),
        -(r.price_per_1m_tokens or 0.0),
    )


def build_price_book(
    published: Sequence[PriceRecord],
    overrides: Sequence[PriceOverride] = (),
    today: date | None = None,
) -> PriceBook:
    """Apply overrides and compute the stale/conflict flags and the effective prices.

    Args:
        published: Rows from :func:`read_pricing_csv`.
        overrides: The user's overrides (file first, then session, any order works).
        today: The day staleness is measured against (default: today).

    Returns:
        The price book.
    """
    today = today or date.today()
    by_model: dict[str, list[PriceRecord]] = {}
    for r in published:
        by_model.setdefault(r.model, []).append(r)
    conflicted = {
        m
        for m, rows in by_model.items()
        if len({round(r.price_per_1m_tokens, 6) for r in rows if r.price_per_1m_tokens is not None}) > 1
    }
    names: dict[str, PriceRecord] = {}
    for r in published:
        names.setdefault(r.model, r)
    flagged: list[PriceRecord] = []
    for r in published:
        age = (today - r.date_checked).days
        flagged.append(replace(r, age_days=age, stale=age > STALE_AFTER_DAYS, conflict=r.model in conflicted))
    for o in overrides:
        key = resolve_model_name(o.model, names) or o.model
        rec = _override_record(replace(o, model=key), names.get(key), today)
        age = (today - rec.date_checked).days
        flagged.append(replace(rec, age_days=age, stale=age > STALE_AFTER_DAYS))
    best: dict[str, PriceRecord] = {}
    for r in sorted(flagged, key=_preference):
        best.setdefault(r.model, r)
    # Keep the CSV's order (grouped by provider) rather than the preference order.
    effective = {r.model: best[r.model] for r in flagged}
    return PriceBook(records=tuple(flagged), effective=effective, today=today)


def load_prices(
    *,
    path: Path | None = None,
    local_path: Path | None = None,
    session_overrides: Sequence[PriceOverride] = (),
    today: date | None = None,
) -> PriceBook:
    """Load published prices, apply the local file's and the session's overrides.

    Args:
        path: The published CSV (default ``data/pricing.csv``).
        local_path: The local override file (default :func:`local_prices_path`).
        session_overrides: Overrides made in the app; they beat the file's.
        today: The day staleness is measured against (default: today).

    Returns:
        The price book: every row with flags, and one effective price per model.

    Raises:
        UserError: If either file is malformed.
    """
    published = read_pricing_csv(path)
    overrides = [*read_overrides(local_path), *session_overrides]
    return build_price_book(published, overrides, today)


def resolve_model_name(name: str, known: Mapping[str, PriceRecord]) -> str | None:
    """Map a name, alias or variant (``"... (embed_dim=512)"``) to a priced model name.

    Args:
        name: What the caller has (e.g. a leaderboard row's model name).
        known: Records keyed by model name.

    Returns:
        The key in ``known``, or None when the model has no price row.
    """
    for candidate in (name, base_model_name(name)):
        if candidate in known:
            return candidate
        lowered = candidate.lower()
        for key, rec in known.items():
            if key.lower() == lowered or lowered in (a.lower() for a in rec.aliases):
                return key
    return None


def price_for(model_name: str, book: PriceBook | None = None) -> PriceRecord | None:
    """The price the app uses for a model (override first), or None when unpriced.

    For the leaderboard's price filter and Pareto chart. Self-host-only models return
    their record with ``price_per_1m_tokens=None``.

    Args:
        model_name: mteb model name, alias or variant.
        book: A loaded price book (default: :func:`load_prices` with today's date).

    Returns:
        The effective record, carrying source, date, kind and the stale/conflict flags.
    """
    book = book or load_prices()
    key = resolve_model_name(model_name, book.effective)
    return book.effective.get(key) if key else None


def flag_text(r: PriceRecord) -> str:
    """Short visible marks for a row: override, stale, conflicting sources.

    Args:
        r: A record with flags set.

    Returns:
        E.g. ``"⚠ stale (328 d) · ⚠ sources disagree"``, or "" when clean.
    """
    marks = []
    if r.is_override:
        marks.append("✎ your override")
    if r.stale:
        marks.append(f"⚠ stale ({r.age_days} d)")
    if r.conflict:
        marks.append("⚠ sources disagree")
    return " · ".join(marks)


def prices_frame(book: PriceBook, *, effective_only: bool = False) -> pd.DataFrame:
    """A display table of prices with source, date, kind and flags.

    Args:
        book: The loaded price book.
        effective_only: One row per model (the price used) instead of every source.

    Returns:
        One row per record; ``used`` marks the effective row of each model.
    """
    rows = list(book.effective.values()) if effective_only else list(book.records)
    used = {id(r) for r in book.effective.values()}
    return pd.DataFrame(
        [
            {
                "model": r.model,
                "provider": r.provider,
                "hosting": r.hosting,
                "price_per_1m": r.price_per_1m_tokens,
                "batch_price_per_1m": r.batch_price_per_1m_tokens,
                "dimensions": r.dimensions,
                "mrl_dimensions": ";".join(str(d) for d in r.dimension_options),
                "max_input_tokens": r.max_input_tokens,
                "source": r.source_name,
                "source_url": r.source_url,
                "source_kind": r.source_kind,
                "date_checked": r.date_checked,
                "age_days": r.age_days,
                "stale": r.stale,
                "conflict": r.conflict,
                "marks": flag_text(r),
                "used": id(r) in used,
                "notes": r.notes,
            }
            for r in rows
        ],
        columns=[
            "model",
            "provider",
            "hosting",
            "price_per_1m",
            "batch_price_per_1m",
            "dimensions",
            "mrl_dimensions",
            "max_input_tokens",
            "source",
            "source_url",
            "source_kind",
            "date_checked",
            "age_days",
            "stale",
            "conflict",
            "marks",
            "used",
            "notes",
        ],
    )


def editor_rows(published: Sequence[PriceRecord], file_overrides: Sequence[PriceOverride]) -> list[dict[str, object]]:
    """Rows of the Cost page's price editor: one per model, the published price and the user's.

    Args:
        published: Records read from ``data/pricing.csv``.
        file_overrides: The user's prices from the local overrides file.

    Returns:
        One dict per model (the published effective price, its source and flags), with
        ``your_price`` / ``your_note`` filled from the local file where it has the model.
    """
    file_price = {o.model: o for o in file_overrides}
    rows: list[dict[str, object]] = []
    for model, rec in build_price_book(published, []).effective.items():
        fo = file_price.get(model)
        rows.append(
            {
                "marks": flag_text(rec),
                "model": model,
                "published_price": rec.price_per_1m_tokens,
                "batch_price": rec.batch_price_per_1m_tokens,
                "source": rec.source_name,
                "source_url": rec.source_url or None,
                "kind": rec.source_kind,
                "date_checked": rec.date_checked,
                "your_price": fo.price_per_1m_tokens if fo else None,
                "your_note": fo.note if fo else "",
            }
        )
    return rows


def overrides_from_editor(
    rows: Iterable[Mapping[str, object]], file_overrides: Sequence[PriceOverride]
) -> tuple[list[PriceOverride], list[PriceOverride]]:
    """The user's prices read back from edited :func:`editor_rows`.

    Args:
        rows: The editor's rows after editing (``model``, ``your_price``, ``your_note``).
        file_overrides: The prices already in the local file.

    Returns:
        ``(session, all_yours)``: the prices that differ from the local file (they override
        for this session) and every price the user has, file and session (what *Save* writes).
        A price unchanged from the file keeps the file's ``date_checked``.
    """
    file_price = {o.model: o for o in file_overrides}
    session: list[PriceOverride] = []
    all_yours: list[PriceOverride] = []
    for row in rows:
        price = row.get("your_price")
        if price is None or pd.isna(price):
            continue
        note = str(row.get("your_note") or "")
        model = str(row["model"])
        fo = file_price.get(model)
        unchanged = fo is not None and fo.price_per_1m_tokens == price and fo.note == note
        o = PriceOverride(
            model,
            float(price),  # type: ignore[arg-type]
            note=note,
            date_checked=fo.date_checked if unchanged and fo else None,
        )
        all_yours.append(o)
        if not unchanged:
            session.append(o)
    return session, all_yours


def dated(overrides: Iterable[PriceOverride], today: date) -> list[PriceOverride]:
    """The overrides with ``today`` as the check date where they have none (what *Save* writes).

    Args:
        overrides: The user's prices.
        today: The date to stamp on undated prices.

    Returns:
        The same prices, each with a ``date_checked``.
    """
    return [o if o.date_checked else replace(o, date_checked=today) for o in overrides]


def check_lines(book: PriceBook, models: Sequence[str]) -> list[str]:
    """Markdown bullet lines for the stale or conflicting prices among ``models``.

    Args:
        book: The price book in use.
        models: Model names present in ``book.effective``.

    Returns:
        One line per flagged model (empty when none is flagged); each names the price used,
        its source, its age when stale and the other sources' prices when they disagree.
    """
    lines = []
    for rec in (book.effective[m] for m in models):
        if not (rec.stale or rec.conflict):
            continue
        line = f"- **{rec.display_name}**: using ${rec.price_per_1m_tokens:g}/1M from {rec.source_label}."
        if rec.stale:
            line += f" ⚠ stale: checked {rec.age_days} days ago."
        if rec.conflict:
            others = [
                f"${r.price_per_1m_tokens:g} ({r.source_name}, {r.date_checked})"
                for r in book.sources_for(rec.model)
                if r is not rec and not r.is_override
            ]
            line += " ⚠ sources disagree: also " + "; ".join(others) + "."
        lines.append(line)
    return lines

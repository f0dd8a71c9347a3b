"""Fatebook (fatebook.io): its CSV export, read and written.

The format, as written by ``questionsToCsv`` in ``lib/web/export.ts`` of the public
Sage-Future/fatebook repository (commit 3eb5379): one row per stored forecast, with the
columns of :data:`COLUMNS` in that order -- ``Question title``, ``Multiple choice option``,
``Forecast created by``, ``Forecast (scale = 0-1)``, ``Forecast created at``, ``Question
created by``, ``Question created at``, ``Question resolve by``, ``Resolution`` (``YES``,
``NO``, ``AMBIGUOUS``; for a multiple-choice question the option's own resolution), ``Resolved
at``, ``Your Brier score for this question``, ``Your relative Brier score for this question``,
``Question notes``, ``Question shared with`` (names joined by ``"; "``), ``Question shared
publicly`` (``true``/``false``), ``Question comments`` (``name: comment`` joined by ``"; "``)
and, since Fatebook commit e66483b, ``Question tags`` (tag names joined by ``"; "``; older
exports end at ``Question comments``).  Text cells are quoted, numbers, booleans and times are
not, a missing value is an empty cell.  Times come from ``getDateTimeYYYYMMDDHHMMSS`` in
``lib/_utils_common.ts``: ``YYYY-MM-DD HH:MM:S`` with the seconds **not** zero-padded
(``2021-02-05 00:00:0``), no offset; they are read as UTC.

Import conventions
------------------
* **Questions.** The export carries no question ids: a question is the rows sharing a title and
  a creation time; its id is ``fatebook-<hash of both>`` and its ``source_id``
  ``<created at>|<title>``.  A file written by :func:`export_fatebook` carries the ledger's
  own id in a marker tag (below), and keeps it.  ``opens`` = ``Question created at``,
  ``closes`` = ``Question resolve by``, ``criteria`` = ``Question notes``; tags are the
  ``Question tags`` names made into tag slugs, plus ``fatebook``.
* **Forecasters.** A person's name becomes ``<prefix>:<name>`` (``fatebook:Ana``); a name that
  already carries one of the ledger's reserved prefixes (``model:``, ``crowd:``, ``import:``,
  ``backtest:``, see :func:`forecasts.domain.forecaster_kind`) is kept as it is, so a ledger's
  models survive a round trip as themselves.
* **Multiple choice.** A question with option rows is multiple choice; its options are slugs of
  the option texts, in their order of first appearance.  Fatebook stores a forecast on one
  option at a time (``addForecast`` with an ``optionId``), so the rows of one forecaster are
  replayed in time order, keeping each option's latest probability; an option the forecaster
  has not yet given counts 0, as in Fatebook's own running total.  All rows of one forecaster
  with the same ``Forecast created at`` (to the second) make **one** complete forecast at that
  time.  Fatebook's exclusive questions have an implicit ``OTHER`` answer that takes what the
  options leave: when a forecast's options sum to less than 1, an option ``other`` is added to
  the question and gets the remainder.  A forecast whose options sum to more than 1 (a
  non-exclusive question: the export does not say which kind a question is) is refused with
  that reason, as is a question with more than one option resolved ``YES``.
* **Resolutions.** Binary: ``YES``/``NO``/``AMBIGUOUS`` at ``Resolved at``.  Multiple choice:
  the option resolved ``YES``; options all ``AMBIGUOUS`` give ``ambiguous``.  When every
  option says ``NO``, the export cannot tell Fatebook's ``OTHER`` from ``AMBIGUOUS`` (both
  leave the options at ``NO``), so the question is left unresolved and a note says so.
* Fatebook lets users say 0% and 100%, so certain forecasts are accepted.

Export conventions (:func:`export_fatebook`)
--------------------------------------------
The same columns, quoting and time format, one row per forecast (one per option for a
multiple-choice forecast, all stamped with the forecast's time).  The two Brier columns,
``Question shared with`` and ``Question comments`` are left empty; ``Question shared publicly``
is ``false``.  ``Question tags`` holds the ledger's tags and two marker tags that make the round
trip lossless: ``ledger:id=<question id>`` and, for an ordered multiple-choice question,
``ledger:ordered``.  What the format cannot carry: times finer than a second (cut to the
second), rationales, base rates and reference classes, resolution notes, the difference
between ``ambiguous`` and ``annulled`` (both written ``AMBIGUOUS``), the backtest flag, events
and evidence, and corrections or retractions (the forecasts are written as they stand).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.ledger.sql import csv_guard, csv_unguard
from forecasts.paths import is_folder, output_file, output_folder
from forecasts.sources import csv_text
from forecasts.sources.generic import (
    ImportSummary,
    Progress,
    clean,
    forecaster_name,
    load_track_record,
    read_table,
    slug,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:fatebook"
#: The columns of a Fatebook export, in Fatebook's order (``Question tags`` since e66483b).
COLUMNS = ("Question title", "Multiple choice option", "Forecast created by", "Forecast (scale = 0-1)",
           "Forecast created at", "Question created by", "Question created at", "Question resolve by",
           "Resolution", "Resolved at", "Your Brier score for this question",
           "Your relative Brier score for this question", "Question notes", "Question shared with",
           "Question shared publicly", "Question comments", "Question tags")
#: The columns every export has (exports made before Fatebook added ``Question tags`` end here).
REQUIRED = COLUMNS[:16]
#: Fatebook joins tag names (and shared-with names, comments) with this.
TAGS_SEPARATOR = "; "
#: Marker tags written by :func:`export_fatebook` (``ledger:id=<id>``, ``ledger:ordered``).
MARKER = "ledger:"
#: The text cells the export quotes and guards against spreadsheet formulas.
TEXT_COLUMNS = ("Question title", "Multiple choice option", "Forecast created by", "Question created by",
                "Resolution", "Question notes", "Question tags")
OTHER = "other"
_OUTCOME = {"YES": "yes", "NO": "no", "AMBIGUOUS": "ambiguous"}
_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})$")


def fatebook_time(value: object) -> str | None:
    """A Fatebook time (``2021-02-05 00:00:0``, seconds not zero-padded) as ISO text in UTC
    (``2021-02-05T00:00:00``); None for an empty cell; text in any other shape is returned
    unchanged, so the ledger's date rules name it."""
    v = clean(value)
    if v is None:
        return None
    m = _TIME.match(str(v).strip())
    if not m:
        return str(v)
    y, mo, d, h, mi, s = m.groups()
    return f"{y}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{int(mi):02d}:{int(s):02d}"


def _key(title: str, created: str) -> tuple[str, str]:
    digest = hashlib.sha1(f"{created}|{title}".encode()).hexdigest()[:12]
    return f"fatebook-{digest}", f"{created}|{title}"[:200]


def _who(prefix: str, raw: object) -> str | None:
    """The ledger name of a Fatebook forecaster (see the module notes); None when missing."""
    text = clean(raw)
    if text is None:
        return None
    text = str(text).strip()
    if domain.forecaster_kind(text) != "person":
        return text
    return forecaster_name(prefix, text)


def _tags(cell: object) -> tuple[list[str], dict[str, str]]:
    """The ledger tags and the marker values (``id``, ``ordered``) of a ``Question tags`` cell."""
    text = clean(cell)
    if text is None:
        return [], {}
    tags, markers = [], {}
    for raw in str(text).split(TAGS_SEPARATOR.strip()):
        name = raw.strip()
        if not name:
            continue
        if name.startswith(MARKER):
            key, _, value = name[len(MARKER):].partition("=")
            if key not in ("id", "ordered"):
                raise InvalidInput(f"unknown marker tag {name!r} (known: {MARKER}id=<id>, {MARKER}ordered)")
            markers[key] = value
            continue
        tags.append(slug(name, limit=50))
    return tags, markers


def _number(v: object) -> float:
    try:
        return float(clean(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def import_fatebook(ledger: Ledger, path: str | Path, *, prefix: str = "fatebook", dry_run: bool = False,
                    progress: Progress = None, skip_malformed: bool = False,
                    allow_certainty: bool = True) -> ImportSummary:
    """Import a Fatebook CSV export (questions, forecasts, resolutions; see the module notes).

    ``prefix`` namespaces the persons who forecast (``fatebook:Ana``).  An unknown column, a
    file without Fatebook's columns or an unknown marker tag is refused by name; malformed
    rows are listed by line (the first line of the forecast they belong to).
    """
    import pandas as pd

    t = read_table(path)
    name = Path(path).name
    missing = [c for c in REQUIRED if c not in t.columns]
    if missing:
        raise InvalidInput(f"{name} is not a Fatebook export: no column(s) {', '.join(missing)}")
    unknown = [c for c in t.columns if c not in COLUMNS and c != "_line"]
    if unknown:
        raise InvalidInput(f"{name} has column(s) a Fatebook export does not: {', '.join(unknown)}")
    summary = ImportSummary(source=SOURCE, path=str(path), rows_read=len(t))
    if "Question tags" in t and t["Question tags"].fillna("").str.contains(f"{MARKER}id=", regex=False).any():
        # written by export_fatebook: its text cells carry the spreadsheet-formula guard
        text = [c for c in t.columns if c in TEXT_COLUMNS]
        t[text] = t[text].map(lambda v: csv_unguard(v) if isinstance(v, str) else v)
    t = t.assign(_title=t["Question title"].fillna("").str.strip(),
                 _created=t["Question created at"].fillna("").str.strip(),
                 _option=t["Multiple choice option"].map(clean),
                 _when=t["Forecast created at"].map(fatebook_time))
    questions: list[dict] = []
    resolutions: list[dict] = []
    rows: list[dict] = []
    unresolved_other = 0
    for (title, created), g in t.groupby(["_title", "_created"], sort=False):
        first = g.iloc[0]
        try:
            tags, markers = _tags(first.get("Question tags"))
        except InvalidInput as exc:
            summary_line = int(first["_line"])
            raise InvalidInput(f"line {summary_line}: {exc.message}") from None
        qid, sid = _key(title, created)
        if markers.get("id"):
            qid = sid = markers["id"]
        else:
            tags = sorted({*tags, "fatebook"})
        option_texts = list(pd.unique(g["_option"].dropna()))
        mc = bool(option_texts)
        names = {o: slug(o, limit=60) for o in option_texts}
        other = OTHER if OTHER not in names.values() else "fatebook-other"
        forecasts, needs_other = _option_forecasts(g, names, other, prefix, qid) if mc else ([], False)
        options = [*names.values(), *([other] if needs_other else [])] if mc else None
        questions.append({"qid": qid, "title": title or None, "opens": fatebook_time(created),
                          "closes": fatebook_time(first["Question resolve by"]),
                          "kind": "multiple_choice" if mc else "binary", "options": options,
                          "ordered": "ordered" in markers, "criteria": clean(first.get("Question notes")),
                          "tags": sorted(set(tags)), "by": _who(prefix, first["Question created by"]) or SOURCE,
                          "source_id": sid, "line": int(g["_line"].min())})
        res = g.dropna(subset=["Resolution"])
        if len(res):
            words = res["Resolution"].str.upper().str.strip()
            if mc:
                per_option = dict(zip(res["_option"], words, strict=False))
                yes = [o for o, w in per_option.items() if w == "YES"]
                if len(yes) > 1:
                    resolutions.append({"question": qid, "outcome": "|".join(names[o] for o in yes), "on": None,
                                        "line": int(res["_line"].iloc[0]), "why": (
                                            f"options {', '.join(yes)} all resolved YES: a non-exclusive Fatebook "
                                            "question, which one multiple-choice outcome cannot hold")})
                elif yes:
                    at = res.loc[res["_option"] == yes[0], "Resolved at"].iloc[0]
                    resolutions.append({"question": qid, "outcome": names[yes[0]], "on": fatebook_time(at),
                                        "by": SOURCE, "line": int(res["_line"].iloc[0])})
                elif set(per_option.values()) == {"AMBIGUOUS"}:
                    resolutions.append({"question": qid, "outcome": "ambiguous",
                                        "on": fatebook_time(res["Resolved at"].iloc[0]), "by": SOURCE,
                                        "line": int(res["_line"].iloc[0])})
                elif set(per_option.values()) == {"NO"}:
                    unresolved_other += 1
                else:
                    bad = sorted(set(per_option.values()) - {"YES", "NO", "AMBIGUOUS"})
                    resolutions.append({"question": qid, "outcome": None, "on": None, "line": int(res["_line"].iloc[0]),
                                        "why": f"unknown Fatebook resolution(s) {', '.join(bad)} (known: YES, NO, AMBIGUOUS)"})
            else:
                word = str(words.iloc[0])
                outcome = _OUTCOME.get(word)
                resolutions.append({"question": qid, "outcome": outcome, "on": fatebook_time(res["Resolved at"].iloc[0]),
                                    "by": SOURCE, "line": int(res["_line"].iloc[0]),
                                    **({} if outcome else {"why": f"unknown Fatebook resolution {word!r} (known: YES, NO, AMBIGUOUS)"})})
        if mc:
            rows.extend(forecasts)
        else:
            seen: dict[str, int] = {}
            for r in g.to_dict("records"):
                who, when = clean(r["Forecast created by"]), r["_when"]
                key = f"{qid}:{who}:{when}"
                seen[key] = seen.get(key, 0) + 1
                rows.append({"question": qid, "forecaster": _who(prefix, who), "made_at": when,
                             "probability": _number(r["Forecast (scale = 0-1)"]), "probabilities": None,
                             "source_id": key if seen[key] == 1 else f"{key}#{seen[key]}", "line": r["_line"]})
    if unresolved_other:
        summary.notes.append(f"{unresolved_other} multiple-choice question(s) with every option resolved NO left "
                             "unresolved: Fatebook's export writes OTHER and AMBIGUOUS alike")
    bad_res = [r for r in resolutions if "why" in r]
    good_res = [r for r in resolutions if "why" not in r]
    frame = pd.DataFrame(rows, columns=["question", "forecaster", "made_at", "probability", "probabilities",
                                        "source_id", "line", "why"])
    refused = frame[frame["why"].notna()] if len(frame) else frame
    frame = frame[frame["why"].isna()].drop(columns=["why"]) if len(frame) else frame.drop(columns=["why"])
    early = [(int(r["line"]), str(r["why"])) for r in bad_res] + [
        (int(ln), str(why)) for ln, why in zip(refused["line"], refused["why"], strict=True)]
    if early and not skip_malformed:  # list them with every other malformed row, root cause first
        from forecasts.errors import ImportRejected

        probe = load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                                  resolutions=good_res, dry_run=True, skip_malformed=True,
                                  allow_certainty=allow_certainty, summary=ImportSummary(source=SOURCE))
        raise ImportRejected.listing(sorted([*early, *probe.malformed]))
    result = load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                               resolutions=good_res, dry_run=dry_run, progress=progress,
                               skip_malformed=skip_malformed, allow_certainty=allow_certainty, summary=summary)
    if early:
        result.malformed = sorted([*result.malformed, *early])
    return result


def _option_forecasts(g: Any, names: dict[str, str], other: str, prefix: str,
                      qid: str) -> tuple[list[dict], bool]:
    """One complete forecast per (forecaster, second) of a multiple-choice question, replaying
    the per-option rows in time order (see the module notes); whether any leaves probability
    to Fatebook's implicit OTHER."""
    import pandas as pd

    out: list[dict] = []
    needs_other = False
    rows = g[g["_option"].notna()].copy()
    rows["_t"] = pd.to_datetime(rows["_when"], errors="coerce", format="ISO8601")
    for who, f in rows.groupby(rows["Forecast created by"].fillna(""), sort=False):
        state = dict.fromkeys(names.values(), 0.0)
        f = f.sort_values(["_t", "_line"], kind="stable", na_position="first")
        for when, step in f.groupby("_when", sort=False, dropna=False):
            line = int(step["_line"].min())
            for o, v in zip(step["_option"], step["Forecast (scale = 0-1)"], strict=True):
                state[names[o]] = _number(v)
            total = sum(state.values())
            row = {"question": qid, "forecaster": _who(prefix, who) if who else None, "made_at": when,
                   "probability": float("nan"), "source_id": f"{qid}:{who}:{when}", "line": line, "why": None}
            if any(v != v for v in state.values()):
                row["why"] = "an option's probability is missing or not a number"
            elif total > 1 + domain.SUM_TOLERANCE:
                row["why"] = (f"the options' latest probabilities sum to {total:.3g} > 1: a non-exclusive "
                              "Fatebook question, which one multiple-choice forecast cannot hold")
            probs = dict(state)
            if total < 1 - domain.SUM_TOLERANCE:
                probs[other] = 1.0 - total
                needs_other = True
            row["probabilities"] = probs
            out.append(row)
    if needs_other:
        for row in out:
            row["probabilities"].setdefault(other, 0.0)
    return out, needs_other


def _stamps(values: Any) -> Any:
    """Times in Fatebook's format (``2021-02-05 00:00:0``: seconds not zero-padded, cut to the
    second), an empty cell for a missing time: a pyarrow string array, made column-wise (each
    distinct day, each minute of a day and each second written once)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pd.to_datetime(pd.Series(values)).astype("datetime64[us]").to_numpy()
    missing = np.isnat(t)
    seconds = np.where(missing, 0, t.view(np.int64)) // 1_000_000  # floor: cut to the second
    day_code, days = pd.factorize(seconds // 86_400)
    of_day = seconds % 86_400
    day_text = pa.array(np.datetime_as_string(days.astype("datetime64[D]")).tolist(), pa.large_string())
    minute_text = pa.array([f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)], pa.large_string())
    second_text = pa.array([str(s) for s in range(60)], pa.large_string())
    text = csv_text.joined(day_text.take(day_code), " ", minute_text.take(of_day // 60), second_text.take(of_day % 60))
    return pc.call_function("if_else", [pa.array(missing), pa.scalar("", pa.large_string()), text])


def _stamp(v: Any) -> str:
    """One time in Fatebook's format (:func:`_stamps`); empty for a missing time."""
    return str(_stamps([v])[0].as_py())


def _quote(text: object) -> str:
    """A text cell as Fatebook's ``printForCsv`` writes it (always quoted, quotes doubled), and
    guarded so that no spreadsheet reads it as a formula (:func:`forecasts.ledger.sql.csv_guard`;
    the import takes the guard off again for a file this export wrote)."""
    return '"' + csv_guard(str(text)).replace('"', '""') + '"'


def _question_cells(qs: Any, rs: Any) -> list[tuple[str, str, str, str, str | None, str]]:
    """What every row of a question repeats, per question in ``qs`` order: its quoted title; the
    cells after the forecast's time up to the resolution word, the resolution time and the cells
    after it (see :func:`_after`); its outcome (None if unresolved); and its first tag that
    clashes with the marker prefix ('' if none)."""
    when = dict(zip(rs["question"], _stamps(rs["resolved_at"]).to_pylist(), strict=True))
    outcome = dict(zip(rs["question"], rs["outcome"], strict=True))
    cells = []
    for q, opens, closes in zip(qs.itertuples(), _stamps(qs["opens_at"]).to_pylist(),
                                _stamps(qs["closes_at"]).to_pylist(), strict=True):
        tags = [str(tag) for tag in (q.tags if isinstance(q.tags, list) else [])]
        clash = next((tag for tag in tags if tag.startswith(MARKER)), "")
        tags += [f"{MARKER}id={q.id}", *([f"{MARKER}ordered"] if bool(q.ordered) else [])]
        notes = _quote(q.criteria) if isinstance(q.criteria, str) and q.criteria else ""
        cells.append((_quote(q.title), f",{_quote(q.created_by)},{opens},{closes},", when.get(q.id, ""),
                      f",,,{notes},,false,,{_quote(TAGS_SEPARATOR.join(tags))}", outcome.get(q.id), clash))
    return cells


def _after(head: str, when: str, end: str, word: str) -> str:
    """The cells of a row after the forecast's time: the resolution word and time only if there
    is a word (the forecast's question, or option, is resolved)."""
    return f"{head}{_quote(word)},{when}{end}" if word else f"{head},{end}"


def _target(path: str | Path) -> Path:
    """The file an export writes: ``path``, or ``fatebook.csv`` in it if it is a folder or does
    not end in ``.csv`` (as for 'forecasts export OUT')."""
    out = Path(path)
    return output_folder(out) / "fatebook.csv" if is_folder(out) or out.suffix.lower() != ".csv" else out


def export_fatebook(ledger: Ledger, path: str | Path, *, as_of: object = None) -> Path:
    """Write the ledger's forecasts as a Fatebook CSV export (see the module notes): one row per
    forecast, one per option for a multiple-choice forecast, to ``path`` (a ``.csv`` file, or a
    folder that gets ``fatebook.csv``); returns the file.  Times are UTC, cut to the second.

    The rows are made column-wise: the cells of a question once, each distinct probability
    once, the lines joined by pyarrow and written :data:`~forecasts.sources.csv_text.BLOCK_ROWS` at a
    time.  A ledger tag
    that starts with ``ledger:`` (the marker prefix) is refused.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    qs, fs, rs = ledger.questions(as_of), ledger.forecasts(as_of), ledger.resolutions(as_of)
    out = _target(path)
    q_code = pd.Index(qs["id"]).get_indexer(fs["question"])
    fs, q_code = fs[q_code >= 0], q_code[q_code >= 0]  # forecasts on the questions known as of then
    questions = _question_cells(qs, rs)
    clashing = np.array([bool(q[-1]) for q in questions], dtype=bool)
    if clashing[q_code].any():
        q = int(q_code[np.argmax(clashing[q_code])])
        raise InvalidInput(f"question {qs['id'].iloc[q]!r} has tag {questions[q][-1]!r}: the prefix {MARKER!r} "
                           "is reserved for the export's marker tags")

    # Each row is before[key] + forecaster + probability + time + after[key], the key being the
    # question (a binary forecast) or the (question, option) pair (a row of a multiple-choice
    # forecast, one per option in the order the forecast holds them).
    probabilities = fs["probabilities"].to_numpy(dtype=object)
    mc = np.flatnonzero(pd.notna(probabilities))
    mc = mc[[isinstance(d, dict) and len(d) > 0 for d in probabilities[mc]]]
    counts = np.ones(len(fs), dtype=np.int64)
    counts[mc] = [len(d) for d in probabilities[mc]]
    is_mc = np.zeros(len(fs), dtype=bool)
    is_mc[mc] = True
    row = np.repeat(np.arange(len(fs)), counts)
    on_option = is_mc[row]
    pairs = [(o, p) for d in probabilities[mc] for o, p in d.items()]
    option_code, options = pd.factorize(pd.Series([o for o, _ in pairs], dtype=object), use_na_sentinel=False)
    width = max(len(options), 1)
    pair_code, pair_keys = pd.factorize(q_code[row[on_option]].astype(np.int64) * width + option_code)
    before = [f"{title},," for title, *_ in questions]
    after = [_after(head, when, end, "" if outcome is None else {"yes": "YES", "no": "NO"}.get(outcome, "AMBIGUOUS"))
             for _, head, when, end, outcome, _ in questions]
    for q, o in (divmod(k, width) for k in pair_keys.tolist()):
        title, head, when, end, outcome, _ = questions[q]
        option = str(options[o])
        before.append(f"{title},{_quote(option)},")
        after.append(_after(head, when, end, "" if outcome is None else "YES" if outcome == option
                            else "AMBIGUOUS" if outcome in domain.VOID_OUTCOMES else "NO"))
    key = q_code[row].astype(np.int64)
    key[on_option] = len(questions) + pair_code
    value = fs["probability"].to_numpy(dtype=np.float64)[row]
    value[on_option] = [float(p) for _, p in pairs]
    who_code, who = pd.factorize(fs["forecaster"], use_na_sentinel=False)
    who_cells = pa.array([_quote(w) for w in who], pa.large_string())
    before_cells, after_cells = pa.array(before, pa.large_string()), pa.array(after, pa.large_string())
    made_at = fs["made_at"].to_numpy()

    out = output_file(out)
    with out.open("wb") as fh:
        fh.write(",".join(COLUMNS).encode())
        for a in range(0, len(row), csv_text.BLOCK_ROWS):
            rows, f = slice(a, a + csv_text.BLOCK_ROWS), row[a:a + csv_text.BLOCK_ROWS]
            lines = csv_text.joined("\n", before_cells.take(key[rows]), who_cells.take(who_code[f]), ",",
                                    csv_text.distinct_text(value[rows], repr), ",", _stamps(made_at[f]),
                                    after_cells.take(key[rows]))
            data, offsets = csv_text.text_block(lines)
            fh.write(data[offsets[0]:offsets[-1]])
    return out

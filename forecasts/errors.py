"""One exception hierarchy for the whole package.

Every error a user can cause is a :class:`ForecastsError` whose message is a single line
that says what was wrong and what to do about it.  The CLI prints that line in red and exits
with the class's ``exit_code``: 2 for bad input (nothing was written), 1 for a store that could
not be used (locked, tampered with, missing).
"""

from __future__ import annotations


class ForecastsError(Exception):
    """Base class: a user-facing, one-line message and a process exit code."""

    exit_code = 1

    def __init__(self, message: str):
        message = " ".join(str(message).split())  # always one line
        super().__init__(message)
        self.message = message


class InvalidInput(ForecastsError):
    """The input was malformed or breaks a ledger rule; nothing was written."""

    exit_code = 2


class InvalidProbability(InvalidInput):
    """A probability that cannot be parsed, lies outside [0, 1], or is certain without leave."""


class InvalidDate(InvalidInput):
    """A date or timestamp that cannot be parsed."""


class UnknownQuestion(InvalidInput):
    """No question with that id exists in the ledger."""


class UnknownEvent(InvalidInput):
    """No event with that id exists in the ledger."""


class UnknownForecast(InvalidInput):
    """No forecast with that row number exists in the ledger."""


class DuplicateQuestion(InvalidInput):
    """A question with that id already exists."""


class QuestionClosed(InvalidInput):
    """The question is resolved or past its close and takes no more live forecasts (nor evidence)."""


class Backdated(InvalidInput):
    """A live forecast's ``made_at`` lies in the past beyond the clock tolerance."""


class ImportRejected(InvalidInput):
    """An import holds malformed rows; nothing was written.  ``problems`` lists
    ``(line, reason)`` pairs, line numbers counted as in the source file."""

    def __init__(self, message: str, problems: list[tuple[int, str]]):
        super().__init__(message)
        self.problems = problems

    @classmethod
    def listing(cls, problems: list[tuple[int, str]], total: int | None = None) -> ImportRejected:
        """The error for these ``(line, reason)`` problems: a count and the first five.
        ``total`` is the number of malformed rows when ``problems`` lists only some of them."""
        problems = sorted(problems, key=lambda p: p[0])  # stable: a line's root cause stays first
        count = max(total or 0, len(problems))
        shown = "; ".join(f"line {line}: {why}" for line, why in problems[:5])
        more = f" (and {count - 5} more)" if count > 5 else ""
        return cls(f"{count} malformed row(s), nothing imported: {shown}{more}", problems)


class ReservedForecaster(InvalidInput):
    """A live row claims a reserved forecaster prefix (``model:``, ``crowd:``, ``import:``,
    ``backtest:``)."""


class UnknownForecaster(InvalidInput):
    """No forecaster of that name has forecasts in the frames or the ledger."""


class UnknownModel(InvalidInput):
    """No model of that name."""


class StoreLocked(ForecastsError):
    """Another process holds the DuckDB file for writing (or the team ledger's chain lock) and
    did not let go in time."""


class StoreMissing(ForecastsError):
    """The ledger file does not exist yet (run ``forecasts init``)."""


class IntegrityError(ForecastsError):
    """The hash chain does not verify: a ledger row was altered, deleted or inserted."""


class StoreCorrupt(ForecastsError):
    """The ledger file exists but cannot be read as a ledger (truncated, not a DuckDB file)."""


class StoreFull(ForecastsError):
    """The disk is full (or the file cannot grow); the write was rolled back."""


class StoreUnavailable(ForecastsError):
    """The team ledger's server cannot be reached, or went away during the command; what the
    command was writing was rolled back by the server."""


class AccessDenied(ForecastsError):
    """The team ledger's server refused: a password that does not match, or a role whose grants
    or row-level security do not allow the write (another analyst's name, history without
    ``forecasts_importer``)."""

"""Running models and evaluations against a ledger: the layer above models and scoring.

The models (:mod:`forecasts.models`) are pure: records in, forecast rows and explanations out.
This package is the only one that reads the ledger for them and writes what they say back,
through the public :class:`forecasts.ledger.Ledger` methods (``records_many``, ``records``,
``forecasts``, ``questions``, ``resolutions``, ``query``, ``import_history``).

Modules (import the one you need; this package imports nothing, so that ``forecasts update``
with a closed-form model, and ``forecasts score``, load no numpy, pandas or PyMC):

live
    A question as of t (:func:`~forecasts.runs.live.read_question`), what a model says about it
    (:func:`~forecasts.runs.live.forecast`), live updates written as ``model:<name>`` rows
    (:func:`~forecasts.runs.live.update`, :func:`~forecasts.runs.live.update_all`), the model
    names (:data:`~forecasts.runs.live.MODELS`).
backtest
    What a model would have said at each past date, on the world clock, written as backtest rows.
learned
    The learned model's ledger side: its training design as of a time and where fitted
    posterior summaries live.
evaluate
    Models as forecasters over an imported crowd's track record, scored out of sample.
scores
    A ledger's score table (:func:`~forecasts.runs.scores.ledger_scores`), computed by the
    database where it can, else from the frames: the one place that chooses.
replay
    The New START demo: both closed-form models backtested and scored against the crowd.
"""

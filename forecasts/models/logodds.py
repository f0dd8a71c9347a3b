"""Log-odds and back: the one definition of logit, expit and the clipping floor of the models.

Two forms of each:

* scalars (:func:`logit`, :func:`expit`, :func:`clip`): standard library only, for the
  ``forecasts update`` fast path.  :func:`logit` refuses ``p`` outside (0, 1): a model's prior
  must be a real probability.
* arrays (:func:`logit_array`, :func:`expit_array`): numpy, imported inside the functions.
  :func:`logit_array` first clips ``p`` to ``[PROB_FLOOR, 1 - PROB_FLOOR]``, so 0 and 1 (and a
  crowd's 0.1% / 99.9%) give finite log-odds.

Log-odds are in nats: ``logit p = ln(p / (1 - p))``.  A model forecast is never certain: it is
clipped to ``[PROB_FLOOR, 1 - PROB_FLOOR]`` = ``[1e-4, 1 - 1e-4]`` (the ledger refuses 0 and 1,
and a certain wrong forecast has an infinite log score).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from forecasts.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

__all__ = ["PROB_FLOOR", "clip", "expit", "expit_array", "logit", "logit_array"]

#: Model forecasts are clipped to [PROB_FLOOR, 1 - PROB_FLOOR]: never certain.
PROB_FLOOR = 1e-4


def logit(p: float) -> float:
    """Log-odds of ``p`` (nats); ``p`` must lie strictly inside (0, 1).

    >>> round(logit(0.75), 4)
    1.0986
    """
    if not 0.0 < p < 1.0:
        raise InvalidInput(f"probability {p!r} must lie strictly between 0 and 1 for log-odds")
    return math.log(p / (1.0 - p))


def expit(x: float) -> float:
    """The inverse of :func:`logit`, stable for large ``|x|``.

    >>> expit(0.0), round(expit(math.log(3)), 4)
    (0.5, 0.75)
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def clip(p: float) -> float:
    """Keep a model probability off certainty: ``[1e-4, 1 - 1e-4]``.

    >>> clip(1.0), clip(0.3)
    (0.9999, 0.3)
    """
    return min(max(p, PROB_FLOOR), 1.0 - PROB_FLOOR)


def logit_array(p: ArrayLike) -> np.ndarray:
    """Log-odds of an array of probabilities, each first clipped to ``[1e-4, 1 - 1e-4]``.

    >>> logit_array([0.5, 0.75, 1.0]).round(4).tolist()
    [0.0, 1.0986, 9.2102]
    """
    import numpy as np

    q = np.clip(np.asarray(p, dtype=float), PROB_FLOOR, 1.0 - PROB_FLOOR)
    return np.log(q / (1.0 - q))


def expit_array(x: ArrayLike) -> np.ndarray:
    """The inverse of :func:`logit_array` (no clipping), elementwise.

    >>> expit_array([0.0, math.log(3)]).round(4).tolist()
    [0.5, 0.75]
    """
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))

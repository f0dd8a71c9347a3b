"""logit and expit, written once: scalars and arrays agree, the floor, the round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasts.errors import InvalidInput
from forecasts.models import logodds as lo


@given(st.floats(1e-4, 1 - 1e-4))
def test_scalar_and_array_forms_agree_and_invert(p):
    x = lo.logit(p)
    assert lo.logit_array([p]).tolist() == pytest.approx([x], rel=1e-12, abs=1e-12)
    assert lo.expit(x) == pytest.approx(p, rel=1e-12)
    assert lo.expit_array([x]).tolist() == pytest.approx([p], rel=1e-12)


def test_scalar_logit_refuses_certainty_and_the_array_form_clips_it():
    for p in (0.0, 1.0, -0.1):
        with pytest.raises(InvalidInput):
            lo.logit(p)
    floor = math.log(lo.PROB_FLOOR / (1 - lo.PROB_FLOOR))
    assert lo.logit_array(np.array([0.0, 1.0])).tolist() == pytest.approx([floor, -floor])


def test_scalar_expit_is_stable_far_out():
    assert lo.expit(-800.0) == 0.0 and lo.expit(800.0) == 1.0
    assert lo.clip(lo.expit(800.0)) == 1 - lo.PROB_FLOOR


def test_the_models_use_the_one_definition():
    from forecasts.models import evidence

    assert evidence.logit is lo.logit and evidence.expit is lo.expit and evidence.clip is lo.clip
    assert evidence.PROB_FLOOR == lo.PROB_FLOOR

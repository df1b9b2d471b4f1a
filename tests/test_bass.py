"""Bass fit on a known curve. The simulated Bass curve (fully mixed, constant rates) is
checked by the validation suite: tests/test_validation.py runs experiments/validation/bass.py."""

import numpy as np

from model.analysis import bass_cdf, fit_bass


def test_bass_fit_recovers_known_coefficients():
    t = np.arange(120)
    fitted = fit_bass(0.8 * bass_cdf(t, 0.01, 0.3))
    assert abs(fitted["p"] - 0.01) < 1e-4 and abs(fitted["q"] - 0.3) < 1e-3
    assert abs(fitted["m"] - 0.8) < 1e-3

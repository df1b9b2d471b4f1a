"""Bass fit on a known curve. The simulated Bass curve (fully mixed, constant rates) is
checked by the validation suite: tests/test_validation.py runs experiments/validation/bass.py."""

import numpy as np

from model.analysis import bass_cdf, fit_bass


def test_bass_fit_recovers_known_coefficients():
    t = np.arange(120)
    fitted = fit_bass(0.8 * bass_cdf(t, 0.01, 0.3))
    assert abs(fitted["p"] - 0.01) < 1e-4 and abs(fitted["q"] - 0.3) < 1e-3
    assert abs(fitted["m"] - 0.8) < 1e-3


def test_summary_fits_bass_only_when_asked(small_run):
    from model.analysis import NETWORK_METRICS, summarize

    full = summarize(small_run)
    assert full["bass_p"] is not None  # the tracer spreads in this run: there is a curve
    without = summarize(small_run, ("coasting_share",))
    assert "bass_p" not in without and "bass_q" not in without
    assert without == {k: v for k, v in full.items()
                       if k not in ("bass_p", "bass_q", *NETWORK_METRICS)}
    asked = summarize(small_run, ("bass_q",))
    assert (asked["bass_p"], asked["bass_q"]) == (full["bass_p"], full["bass_q"])

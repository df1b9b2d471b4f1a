"""Bass fit on a known curve. The simulated Bass curve (fully mixed, constant rates) is
checked by the validation suite: tests/test_validation.py runs experiments/validation/bass.py."""

import numpy as np

from model.analysis import bass_cdf, bass_jacobian, fit_bass


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


def test_bass_derivatives_match_finite_differences():
    t = np.arange(60.0)
    for p, q in ((0.01, 0.3), (0.2, 0.0), (1e-4, 5.0), (0.05, 1.2)):
        h = 1e-7
        by_p = (bass_cdf(t, p + h, q) - bass_cdf(t, p - h, q)) / (2 * h)
        by_q = (bass_cdf(t, p, q + h) - bass_cdf(t, p, q - h)) / (2 * h)
        analytic = bass_jacobian(t, p, q)
        assert np.allclose(analytic[:, 0], by_p, rtol=1e-5, atol=1e-6 * max(1.0, q / p))
        assert np.allclose(analytic[:, 1], by_q, rtol=1e-5, atol=1e-6)


def test_bass_fit_stays_in_bounds_and_rejects_flat_curves():
    t = np.arange(40)
    saturated = np.minimum(1.0, 1.3 * bass_cdf(t, 0.05, 0.5))  # M would exceed 1
    fitted = fit_bass(saturated)
    assert fitted is not None and fitted["m"] <= 1.0 and 0.0 <= fitted["q"] <= 10.0
    assert fit_bass(np.full(30, 0.01)) is None  # never reaches 5%: no curve to fit

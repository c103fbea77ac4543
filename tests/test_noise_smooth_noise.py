"""Elastic fields on a coarse grid keep the full-resolution field's
statistics: its variance and correlation, by the Gaussian's own kernel."""
import cv2
import numpy as np
import pytest

from anl_seg.noise.smooth_noise import smooth_noise


def kernel(sigma):
    """OpenCV's 1-D Gaussian for a float image of std ``sigma``."""
    size = int(round(sigma * 8 + 1)) | 1
    return cv2.getGaussianKernel(size, sigma).ravel()


def expected(sigma, lag):
    """Variance of U(-1, 1) noise smoothed by the separable kernel, and
    its correlation at ``lag`` pixels along a row."""
    k = kernel(sigma)
    energy = float(np.sum(k * k))
    return energy ** 2 / 3, float(np.sum(k[:-lag] * k[lag:])) / energy


@pytest.mark.parametrize('sigma', [3, 6, 10, 14.5])
def test_variance_and_correlation_are_the_gaussian_field_s(sigma):
    rng = np.random.default_rng(int(sigma * 10))
    fields = [smooth_noise((900, 1100), sigma, rng) for _ in range(4)]
    margin = int(4 * sigma)  # the borders reflect: the inside is measured
    inner = [f[margin:-margin, margin:-margin] for f in fields]
    lag = int(sigma)
    variance, correlation = expected(sigma, lag)
    measured = np.mean([f.var() for f in inner])
    assert abs(measured / variance - 1) < 0.05
    for axis in (0, 1):
        pairs = [(np.take(f, range(f.shape[axis] - lag), axis),
                  np.take(f, range(lag, f.shape[axis]), axis))
                 for f in inner]
        measured_corr = np.mean([(a * b).mean() for a, b in pairs]) / \
            measured
        assert abs(measured_corr - correlation) < 0.03
        # smooth from pixel to pixel too: neighbours differ as much as in
        # the Gaussian field (nearest-neighbour upsampling: 3x as much)
        steps = [np.diff(f, axis=axis) for f in inner]
        roughness = np.mean([(d * d).mean() for d in steps])
        _, neighbour = expected(sigma, 1)
        assert abs(roughness / (2 * variance * (1 - neighbour)) - 1) < 0.15


@pytest.mark.parametrize('shape', [(1, 1), (1, 7), (13, 2), (40, 33)])
@pytest.mark.parametrize('sigma', [0.5, 6, 10])
def test_any_shape_gets_a_finite_float32_field(shape, sigma):
    field = smooth_noise(shape, sigma, np.random.default_rng(0))
    assert field.shape == shape and field.dtype == np.float32
    assert field.flags.c_contiguous and np.isfinite(field).all()
    assert np.abs(field).max() <= 1

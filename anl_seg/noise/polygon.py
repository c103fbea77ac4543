"""Boundary noise of coarse annotation: regions become rough polygons."""
from .base import ReshapeNoise
from .contours import redraw_outline, simplify
from .errors import NoiseError
from .registry import register_noise


@register_noise('polygon')
class Polygon(ReshapeNoise):
    """Replace each selected region by its simplified outline polygon.

    Every contour (outer and hole) is simplified by Douglas-Peucker
    (``cv2.approxPolyDP``) and refilled even-odd, like a coarse polygon
    annotation with few clicks.

    Args:
        epsilon (float): Largest distance (pixels) of the polygon from
            the true outline. An annotator's tolerance is in pixels
            whatever the region's size, so scale it with the image
            (e.g. 3 for VOC, 8 for full-size Cityscapes). Default: 3.
    """

    def __init__(self, num_classes, epsilon=3.0, **kwargs):
        super().__init__(num_classes, **kwargs)
        if not epsilon >= 0:
            raise NoiseError(f'epsilon must be >= 0 pixels, got {epsilon}')
        self.epsilon = float(epsilon)

    def margin(self):
        return 1

    def reshape(self, shape, param, rng):
        return redraw_outline(shape, lambda c: simplify(c, self.epsilon))

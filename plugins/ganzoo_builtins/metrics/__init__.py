"""Built-in plugin: quality metrics for any point data, for point data on a known curve and for labelled images."""

from ganzoo import MetricSpec, hookimpl

from . import curves, images, inception, points


@hookimpl
def ganzoo_metrics():
    yield MetricSpec(
        name="curve",
        description="Points on a known curve: curve error, x-coverage, out-of-range share, sliced Wasserstein.",
        compute=curves.compute,
        applies=curves.applies,
        keys=curves.KEYS,
        better=curves.BETTER,
    )
    yield MetricSpec(
        name="points",
        description="Any point data: sliced Wasserstein, MMD, precision / recall / density / coverage against "
                    "held-out real points.",
        compute=points.compute,
        applies=points.applies,
        keys=points.KEYS,
        better=points.BETTER,
    )
    yield MetricSpec(
        name="inception",
        description="Any image data: Inception-v3 FID, KID, precision and recall (needs 'ganzoo[fid]' or "
                    "GANZOO_INCEPTION).",
        compute=inception.compute,
        applies=inception.applies,
        unavailable=inception.unavailable,
        keys=inception.KEYS,
        better=inception.BETTER,
    )
    yield MetricSpec(
        name="classifier",
        description="Labelled images: classifier FID, class coverage, class entropy, confidence; label accuracy "
                    "(conditional G) or code purity (InfoGAN).",
        compute=images.compute,
        applies=images.applies,
        keys=images.KEYS,
        better=images.BETTER,
    )

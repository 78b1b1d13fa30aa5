"""Built-in plugin: quality metrics for point data on a known curve and for labelled images."""

from ganzoo import MetricSpec, hookimpl

from . import curves, images


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
        name="classifier",
        description="Labelled images: classifier FID, class coverage, class entropy, confidence; label accuracy "
                    "(conditional G) or code purity (InfoGAN).",
        compute=images.compute,
        applies=images.applies,
        keys=images.KEYS,
        better=images.BETTER,
    )

"""Built-in plugin: quality metrics for any point data, for point data on a known curve and for labelled images.

Each metric is one module with ``compute``, ``applies``, ``KEYS`` and ``BETTER`` (and ``unavailable`` where an
optional download may be missing, ``compute_many`` where a feature network's forward can serve several sample sets
at once); the records below only name and describe them.
"""

from ganzoo import MetricSpec, hookimpl

from . import curves, images, inception, points

METRICS = (
    ("curve", curves, "Points on a known curve: curve error, x-coverage, out-of-range share, sliced Wasserstein."),
    ("points", points, "Any point data: sliced Wasserstein, MMD, precision / recall / density / coverage against "
                       "held-out real points."),
    ("inception", inception, "Any image data: Inception-v3 FID, KID, precision and recall (needs 'ganzoo[fid]' or "
                             "GANZOO_INCEPTION)."),
    ("classifier", images, "Labelled images: classifier FID, class coverage, entropy, confidence and IS; label "
                           "accuracy and intra-class FID (conditional G) or code purity (InfoGAN)."),
)


@hookimpl
def ganzoo_metrics():
    for name, module, description in METRICS:
        yield MetricSpec(name=name, description=description, compute=module.compute, applies=module.applies,
                         unavailable=getattr(module, "unavailable", None), keys=module.KEYS, better=module.BETTER,
                         expensive=getattr(module, "EXPENSIVE", False),
                         compute_many=getattr(module, "compute_many", None))

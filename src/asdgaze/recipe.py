"""Saliency4ASD's continuous fixation-map recipe, declared once for every layer that needs it.

The dataset's own generator (Duan et al., ACM MMSys 2019) blurs the binary fixation map with
``fspecial('gaussian', 258, 43)`` (zero padding) and min-max scales it: a Gaussian of 43 px and a 258-tap
(6-sigma) kernel. The dataset formats use it (:mod:`asdgaze.data.formats`), and so does the probabilistic
convention's metric-specific CC/KL/SIM map (:class:`asdgaze.metrics.prob_scoring.Blur`).
"""

#: Saliency4ASD's Gaussian (pixels) and kernel length: ``fspecial('gaussian', 6 * 43, 43)``.
S4A_SIGMA = 43.0
S4A_KERNEL_SIZE = 258

"""Models: every scored thing is a :class:`~asdgaze.models.base.Predictor` with its traits declared on it.

Built-in baselines register themselves in :mod:`asdgaze.models.registry` where they are defined
(:mod:`.simple`: uniform, the fixed centre Gaussian, the MIT1003 template; :mod:`.fitted`: the fitted centre
bias, the gold standard, the other group); importing the package imports them.
"""

# The built-in baselines register themselves, in this order (the order of the defaults and of the tables).
from asdgaze.models import simple  # noqa: F401, I001
from asdgaze.models import fitted  # noqa: F401, E402

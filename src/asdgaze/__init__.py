"""asdgaze: DeepGaze IIE saliency and benchmark-exact metrics for ASD/TD eye-tracking data."""

__version__ = "0.1.0"

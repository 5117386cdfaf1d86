"""asdgaze: DeepGaze IIE saliency and benchmark-exact metrics for ASD/TD eye-tracking data."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # DeepGaze IIE is exported lazily so that `import asdgaze` does not import torch.
    if name == "DeepGazeIIE":
        from asdgaze.models.deepgaze.model import DeepGazeIIE

        return DeepGazeIIE
    raise AttributeError(f"module 'asdgaze' has no attribute {name!r}")

"""DeepGaze IIE, checkpoint-exact: model, weights cache, and the SaliencyModel wrapper.

The model classes are loaded on first use, so that the torch-free parts of this package
(:mod:`.cache`, :mod:`.weights`) can be imported where torch is not installed.
"""

__all__ = ["DeepGazeIIE", "DeepGazeSaliency", "batches_by_size"]


def __getattr__(name: str):
    if name in ("DeepGazeIIE", "batches_by_size"):
        from asdgaze.models.deepgaze import model

        return getattr(model, name)
    if name == "DeepGazeSaliency":
        from asdgaze.models.deepgaze.saliency import DeepGazeSaliency

        return DeepGazeSaliency
    raise AttributeError(f"module 'asdgaze.models.deepgaze' has no attribute {name!r}")

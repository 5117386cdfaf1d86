"""DeepGaze IIE, checkpoint-exact: model, weights cache, and the SaliencyModel wrapper."""

from asdgaze.models.deepgaze.model import DeepGazeIIE, batches_by_size
from asdgaze.models.deepgaze.saliency import DeepGazeSaliency

__all__ = ["DeepGazeIIE", "DeepGazeSaliency", "batches_by_size"]

"""Facts about DeepGaze IIE's inputs that torch-free code needs (predict's decoder processes)."""

# Smallest image side that all four backbones accept: the model sees the image at half size, and
# EfficientNet-B5's fixed (456 px layout) pads leave its 5x5 stride-2 convs too little input below
# 64 px (found by trying every size from 2 to 139 px). Checked in tests/models/test_deepgaze_inputs.py.
MIN_SIZE = 64

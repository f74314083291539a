"""The FER CNN at run time: model loading, batched prediction, the inference task."""

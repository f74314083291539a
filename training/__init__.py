"""FER2013 training: data loaders, architectures, training, evaluation and export."""

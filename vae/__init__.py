"""Latent Explorer's VAE package: the model, its inputs, bundles and ONNX serving, and importing."""

# Importing this package never imports TensorFlow; only the training, evaluation and
# export modules do, so the web process can serve from ONNX exports alone.

__version__ = "0.1.0"

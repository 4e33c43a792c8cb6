"""Latent Explorer's VAE package: data, models, training, bundles and ONNX serving.

Importing this package never imports TensorFlow; only the training, evaluation and
export modules do, so the web process can serve from ONNX exports alone.
"""

__version__ = "0.1.0"

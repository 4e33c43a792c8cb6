"""The web app's layer between the pages and the model package; nothing here imports TensorFlow."""

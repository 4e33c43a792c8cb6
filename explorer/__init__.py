"""The web app's layer between the pages and the model package: models served by id, cached computations,
figures and pictures, widgets. Nothing here imports TensorFlow."""

"""nn-playground: a NumPy multilayer perceptron you can draw on, watch and train live."""

__version__ = "0.1.0"

"""Data for the network: MNIST (IDX files, local folders, verified download), turning
drawings into 784 inputs, and training-time augmentation.

Import the submodules directly (``app.data.mnist``, ``app.data.preprocess``, ...): this
package imports nothing itself, so preprocessing an image does not load httpx.
"""

"""Tests of app.data: IDX, MNIST source and download, preprocessing, augmentation."""

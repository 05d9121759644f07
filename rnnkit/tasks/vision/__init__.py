"""Pieces the image tasks share (caption, video): the small CNN frame encoder and the image-manifest CSV reader."""

"""Scoring masks and keypoints against ground truth; depends only on envs and models."""

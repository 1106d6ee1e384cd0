"""Audience segmentation service with predictive fields."""

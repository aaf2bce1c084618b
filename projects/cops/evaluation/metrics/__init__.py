"""Evaluation metrics of the COPS project."""
from .inference_time_metric import InferenceTimeMetric

__all__ = ['InferenceTimeMetric']

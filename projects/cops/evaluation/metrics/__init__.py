"""Evaluation metrics of the COPS project."""
from .cops_panoptic_metric import CopsPanopticMetric
from .inference_time_metric import InferenceTimeMetric

__all__ = ['CopsPanopticMetric', 'InferenceTimeMetric']

"""Prequential replay of real listening logs: Segue's hybrid against standard baselines.

Pure: it takes the log's lines or arrays and returns numbers; the CLI reads the file.
"""

from recommender.evaluation.log import ListeningLog, LogFormatError, parse_log
from recommender.evaluation.replay import EvalResult, evaluate

__all__ = ["EvalResult", "ListeningLog", "LogFormatError", "evaluate", "parse_log"]

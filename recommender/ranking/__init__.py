"""Ranking: score sources, their blend, the live up-next queue, feedback and reasons."""

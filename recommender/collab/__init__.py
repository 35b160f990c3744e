"""Collaborative signals: listening events turned into weights, and item-item CF over sessions."""

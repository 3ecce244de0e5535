"""Wangge (网格): a platform for grid-based grassroots governance."""

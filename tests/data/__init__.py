"""Tests of chainrule.data."""

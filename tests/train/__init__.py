"""Tests of chainrule.train."""

"""Tests of chainrule.report."""

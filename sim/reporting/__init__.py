"""Figures and reports drawn from what the methods found."""

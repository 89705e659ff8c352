"""Campaigns beyond the monthly update: the PD preferences survey's Form layout, its checkbox
answers and its counts."""

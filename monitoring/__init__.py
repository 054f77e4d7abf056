"""Monitoring of what the model cannot see coming: payer policy drift (issue 18)."""

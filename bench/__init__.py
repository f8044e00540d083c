"""`python -m bench`: one full pipeline day on a large sandbox organisation, with figures."""

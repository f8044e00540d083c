"""The sandbox company's access-review campaign (scenario.py): run by the pipeline's own engine, not a fake."""

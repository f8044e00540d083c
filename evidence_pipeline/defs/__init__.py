"""Dagster definitions, one folder per concern: sources/<system>, controls, evidence, automation."""

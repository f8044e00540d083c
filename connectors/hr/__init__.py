"""HR roster: a CSV export of the HR system (email, name, status, start_date, end_date, manager, department)."""

from connectors.hr.roster import HR_COLUMNS, HR_STATUSES, HrRoster

__all__ = ["HR_COLUMNS", "HR_STATUSES", "HrRoster"]

"""The renderings of the evidence for people and tools: report.html and its PDF (report.py), evidence.xlsx
(workbook.py) and OSCAL assessment results (oscal.py); renderings.py writes them into a bundle.

Views of the CSV/JSON evidence beside them, never a source of their own: each renderer reads the model (model.py)
and the csv/xlsx helpers only, never the daily writer or the period export that fill the model.
"""

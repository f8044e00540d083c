"""The evidence: what a day or a period is shown as, and how it is sealed. Its modules import one another in
layers, never in a circle (tests/test_imports.py):

- model.py: the plain data every writer fills and every rendering reads (outcomes, a day's and a period's evidence);
- render/: report.html and its PDF, evidence.xlsx, OSCAL, made from the model only;
- daily.py: the daily bundle from the warehouse; period.py and sampling.py: exports made from verified bundles;
- chain.py, signing.py, verify.py: sealing bundles into signed, chained series and checking them;
- csv_cells.py, xlsx.py, pseudonymize.py: helpers any of them may use.
"""

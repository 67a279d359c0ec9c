"""The admin pages of the analysis reports (issue: prove the return on relationship), one module each."""

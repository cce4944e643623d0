"""Reports on graded work for staff: gradebook.csv, the summary table, score plots, report.html."""

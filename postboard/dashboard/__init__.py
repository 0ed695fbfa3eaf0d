"""The dashboard widgets' figures: counts, chart and latest rows read from the database and the job monitor."""

"""The background worker: future work is a row in `jobs`; engines claim due rows and run their handler."""

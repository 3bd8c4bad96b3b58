"""drills: rehearsed incidents (scenario runs), scheduled drills and contact drills."""

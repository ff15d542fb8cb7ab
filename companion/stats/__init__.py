"""Read-side aggregations that are not SQL: grouping matches into sessions, streaks."""

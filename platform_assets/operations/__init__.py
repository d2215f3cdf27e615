"""Operations: jobs, schedules, retries, run tags and notifications shared by every domain."""

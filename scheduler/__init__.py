"""Cron jobs for manager alerts; arrives with the scheduler issue."""

"""Closing the loop: priorities and due dates, reminders and escalation, fix verification. Pure logic;
the services that read the database and write outbox rows call into these modules with `now`."""

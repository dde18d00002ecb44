"""The bottom layer, which knows no business domain: settings, database engines, SQL helpers, column
types, problem responses and errors, the clock, durations, text normalisation, the `Actor` of a change,
and encryption at rest."""

"""The journey as code: the document people write and every section model in it (stages, moments,
touchpoints, teams, people, routing rules, grouping settings, triggers, the accountability policy), pure
and validated; versions stored and cached."""

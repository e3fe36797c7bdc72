"""Pure domain rules: entities, statuses and their transitions, naming rules, errors. No I/O."""

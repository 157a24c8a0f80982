"""The NLI pair scorer behind the persona-consistency signal: does an utterance entail,
leave open, or contradict a persona sentence? Fitted on Dialogue NLI (``scorer.py``)."""

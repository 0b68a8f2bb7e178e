"""What concerns a turn of the loop as a whole: pacing turns, the batch's summary, a failed run's record.

Each stage lives in its own package (ingest, validation, cleaning, monitoring, model, registry), with a
`stage.py` that the ZenML step of the same name calls.
"""

"""What concerns a turn of the loop as a whole: the batch's summary and pacing turns.

Each stage lives in its own package (ingest, validation, cleaning, monitoring, model, promotion), with a
`stage.py` that the ZenML step of the same folder calls; what they hand each other is in tasador/results.py.
"""

"""Great Expectations validation of raw batches: reports per batch and the rows to quarantine."""

from tasador.validation.validate import BatchRejected, ValidationOutcome, validate_batch, validate_rows

__all__ = ["BatchRejected", "ValidationOutcome", "validate_batch", "validate_rows"]

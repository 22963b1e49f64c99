"""qc-batch: the 质量强市（区、县） evaluation from Excel score sheets."""

__version__ = "0.1.0"

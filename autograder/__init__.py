"""Modern Architectures autograder: release, validate, grade and report on notebook assignments."""

__version__ = "0.1.0"

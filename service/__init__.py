"""The pre-submission HTTP and FHIR service over the same scoring path as the CLI."""

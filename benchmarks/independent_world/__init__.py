"""An independently written synthetic world in the input contract, to check the model off its home data."""

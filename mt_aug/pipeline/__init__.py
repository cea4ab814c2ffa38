"""The build pipeline: stages, their contract, and the executor that runs them."""

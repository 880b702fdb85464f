"""Deployment of the functions: the Lambda artefact, what serverless.yml declares, checks on both."""

"""The `domainfit` command line."""

"""The resilience report: one command before a release, a go / no-go and the evidence."""

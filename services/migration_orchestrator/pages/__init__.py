"""The pages teachers and support staff use, served by the orchestrator (DESIGN §4)."""

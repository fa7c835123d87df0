"""The production rehearsal's parts; scripts/rehearse.py is the entry point (`make rehearse`)."""

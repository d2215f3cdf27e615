"""brainstar: the Dagster-free core (settings, file helpers, command line, demo data).

Importing this package must stay cheap: the command line starts here, and Dagster,
torch and dipy are imported only by the commands that need them.
"""

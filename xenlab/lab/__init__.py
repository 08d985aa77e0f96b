"""Widgets and plots for the notebooks in ``labs/``.  Built on ``xenlab.toolstack``: the
labs drive the same control API as the command line."""

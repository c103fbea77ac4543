"""A matplotlib figure that renders to files, without pyplot."""


def agg_figure(width, height):
    """A ``Figure`` on an Agg canvas: no display, no global backend state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure

"""Text for a terminal: data made safe to draw, times as people read them, line breaks,
what typed fields accept. No widgets and no I/O besides the terminal streams.
"""

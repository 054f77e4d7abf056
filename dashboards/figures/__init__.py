"""Pure figure functions: polars frames in, plotly figures out, shared by the app and the report."""

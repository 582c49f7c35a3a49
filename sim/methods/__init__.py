"""Methods on result tables: comparisons, contrasts, sensitivity, validation, calibration.

Tables in, tables out: nothing here runs the model or draws a figure.
"""

"""Command-line interface (thin: parse options, call one function, render, exit)."""

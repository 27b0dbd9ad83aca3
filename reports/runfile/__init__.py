"""The run file, torch-free: its schema, reader and writer, and atomic writes."""

"""HTTP edge: blueprints that parse input, call one service function and shape the output."""

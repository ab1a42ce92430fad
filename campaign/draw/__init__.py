"""The verifiable prize draw: commit to a seed, freeze the entries, draw, hand over, erase."""

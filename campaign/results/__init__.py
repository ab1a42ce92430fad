"""The results: answers per question, the printable report, the decision summary,
exports with their codebook, and the results pack."""

"""Small helpers shared by the estimators: input preprocessing, memory handling."""

"""Privacy tools: budget accounting, the post-generation filter and privacy presets."""

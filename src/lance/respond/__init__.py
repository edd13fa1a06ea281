"""Respond stage: route, answer the (refined) prompt, post-check, and refuse naturally."""

"""OpenAI-compatible proxy in front of any target model, with LANCE in the path."""

"""Configuration from environment variables, validated once at start."""

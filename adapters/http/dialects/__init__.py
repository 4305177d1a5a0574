"""The API dialects of other SMS platforms, each translated onto the canonical
use cases, so that their customers can change only the base URL and credentials."""

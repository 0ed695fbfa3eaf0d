"""Posts: publishing, the feed, one post."""

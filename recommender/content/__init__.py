"""Content similarity: the audio-feature index, the metadata (tags, TF-IDF) index and
the taste map."""

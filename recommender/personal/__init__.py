"""One listener's own model: re-listening, context, sequences, latent factors and a
learned blender."""

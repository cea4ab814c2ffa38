"""Machine translation: backends behind one interface, a persistent cache, and the engine that
sends only cache misses to a model."""

"""Views and batches: the columnar corpus (`corpus`), view assignment (`views`), packing and the
hybrid order (`batching`), Arrow IPC stream shards (`shards`)."""

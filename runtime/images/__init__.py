"""Images: references, the OCI layout store, layer extraction, the embedded busybox image."""

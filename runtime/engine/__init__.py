"""The engine: containers, images, volumes and networks on top of the OCI runtime."""

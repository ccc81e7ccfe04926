"""The OCI layer: runtime-spec bundles (config.json), and runc's verbs on them."""

"""ray-static's benchmarks: the real engine, provider and a local control plane, against the alternatives."""

"""Order execution: the broker interface, the paper broker, and the Position Service."""

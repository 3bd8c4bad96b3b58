"""Status page: components, public incidents and updates, maintenance, subscribers."""

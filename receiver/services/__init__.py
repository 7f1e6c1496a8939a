"""What operators and consumers use beside the callback route: dead letters, the events view, task
records, replay, the subscriber, retention, doctor, the source inventory and the background work."""

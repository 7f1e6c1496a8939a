"""The receiver over HTTP: callbacks, the admin API, the console, and hostile or racing senders."""

"""The HTTP surface: the callback route, the admin API, health and metrics, their middleware, and the
app that puts them together with the console."""

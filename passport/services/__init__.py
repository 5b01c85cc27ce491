"""The passport app's interface to its views, commands, tasks and the other apps."""

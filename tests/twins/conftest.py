# The lifecycle suite's batteries (a NASA 18650 cell and plain cells) serve the twin tests too.
from tests.lifecycle.conftest import cells, nasa_cell, nasa_model  # noqa: F401

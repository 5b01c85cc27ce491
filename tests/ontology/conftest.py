# The lifecycle suite's batteries and parties serve the semantic-layer tests too.
from tests.lifecycle.conftest import cells, module_with_cells, nasa_cell, nasa_model  # noqa: F401

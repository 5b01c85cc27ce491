import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The web server owns the RDF store in the default sync mode: it scans for writes made elsewhere.
from ontology.rdf import catchup  # noqa: E402  (needs the app registry that the line above loads)

catchup.start()

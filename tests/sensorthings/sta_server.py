"""A SensorThings API 1.1 server we did not write, for the tests: HydroServer's
django-ogc-sensorthings (PyPI) with its Django ORM backend on SQLite and the Data Array
extension, served by waitress. Run as a program (so a test can stop it and start it again on
the same database): `python sta_server.py DB PORT`."""

import sys
from uuid import UUID


def main(db, port):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="lorafield-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "sensorthings.versions.v1_1",
            "sensorthings.versions.v1_1.backends.django",
            "sensorthings.versions.v1_1.extensions.dataarray",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        SENSORTHINGS_V1_1_SERVICE_URL=f"http://127.0.0.1:{port}/sta",
        SENSORTHINGS_V1_1_BACKEND_ADAPTER=(
            "sensorthings.versions.v1_1.backends.django.adapter.DjangoBackendAdapter"
        ),
        SENSORTHINGS_V1_1_ID_TYPE=UUID,
        SENSORTHINGS_V1_1_ID_DELIMITER="'",
        MIDDLEWARE=[],
        USE_TZ=True,
    )
    django.setup()
    globals()["urlpatterns"] = _urls()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0)
    import waitress

    print("ready", flush=True)
    waitress.serve(get_wsgi_application(), host="127.0.0.1", port=port, threads=4)


def _urls():
    from django.urls import include, path

    return [path("sta/", include("sensorthings.versions.v1_1.urls"))]


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

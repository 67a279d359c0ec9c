# RoR CRM: one image for web (gunicorn), worker and beat (celery); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext: compilemessages (German admin). psycopg[binary] brings its own libpq.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first: the layer stays cached while only the code changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# The settings refuse to load without a secret key; this one exists only during the build
# (collectstatic reads no secret) and is not in the final environment.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --no-input \
    && DJANGO_SECRET_KEY=build-only-not-a-secret python manage.py compilemessages

RUN useradd --create-home --uid 10001 --user-group app
USER app

EXPOSE 8000
CMD ["gunicorn", "ror_crm.wsgi:application", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

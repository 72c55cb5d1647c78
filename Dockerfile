FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends libpq5 curl && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Static files are collected at build time; a throwaway key is enough for collectstatic.
RUN DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=0 python manage.py collectstatic --no-input

RUN useradd --create-home --uid 1000 ops && mkdir -p /app/media && chown -R ops /app/media
USER ops
EXPOSE 8000
CMD ["gunicorn", "ops_platform.wsgi:application", "--access-logfile", "-"]

# Three stages: build wheels with the compilers, bundle the admin's DMN editor (dmn-js) with
# node, then run as a non-root user without either.
FROM python:3.11-slim AS build
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM node:20-slim AS editor
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ frontend/
RUN npm run --silent build:editor

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=ruleengine.settings
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY --chown=app:app . .
COPY --from=editor --chown=app:app /build/static/ruleengine/vendor/dmn-editor/ static/ruleengine/vendor/dmn-editor/
# The hashed static files the server needs (it refuses to start without their manifest).
# collectstatic needs settings but no database; the throwaway key is only for this step.
RUN SECRET_KEY=collectstatic-only DEBUG=false python manage.py collectstatic --noinput
USER app
EXPOSE 8000
# Plain HTTP to the container's own address passes under production settings: /healthz is
# exempt from SECURE_SSL_REDIRECT and from the ALLOWED_HOSTS check (ruleengine/wsgi.py).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# gunicorn.conf.py: gthread workers, graceful shutdown that flushes the execution log.
CMD ["gunicorn", "ruleengine.wsgi:application", "-c", "gunicorn.conf.py"]

# LSO image: one image for every role, chosen by the command.
#   docker build -t lso .
#   docker run --rm -e LSO_REDIS_URL=redis://host:6379/0 -p 8000:8000 lso            # API
#   docker run --rm -e LSO_REDIS_URL=redis://host:6379/0 lso worker                   # worker
# See docker-compose.yml for the full stack (Valkey + API + scalable workers).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 lso \
 && useradd --system --uid 10001 --gid lso --create-home --home-dir /home/lso \
        --shell /usr/sbin/nologin lso

WORKDIR /src

# 1) Runtime dependencies only, read from [project].dependencies (tomllib is in the 3.11 stdlib),
#    so this layer is rebuilt when pyproject.toml changes, not on every code change.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write(chr(10).join(deps) + chr(10))" \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# 2) The project itself: no dev extras, dependencies already installed above.
#    README.md is needed because pyproject.toml declares it as the readme.
COPY README.md ./
COPY api ./api
COPY shared ./shared
COPY worker ./worker
COPY lso ./lso
RUN pip install --no-deps /src \
 && rm -rf /src

# The installed package is used, never a source tree; the home directory is writable
# (e.g. for `lso up`'s default ./.lso data directory).
WORKDIR /home/lso
USER lso

EXPOSE 8000

ENTRYPOINT ["lso"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]

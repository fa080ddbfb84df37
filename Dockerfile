# cway-mcp serve: the remote MCP server (Streamable HTTP + OAuth, tokens in PostgreSQL). See docs/deploy.md.
#
# The same steps `make test` runs and tests (tests/installed/test_serve.py reads this file): build the
# sdist and the wheel from it, install 'cway-mcp[remote]' from that wheel, run as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY daemon ./daemon
COPY contract ./contract
COPY shim ./shim
RUN pip install --no-cache-dir build && python -m build --outdir /dist .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/cway-mcp --create-home cway
COPY --from=build /dist/*.whl /tmp/dist/
RUN pip install --no-cache-dir "$(ls /tmp/dist/cway_mcp-*.whl)[remote]" && rm -rf /tmp/dist

USER cway
ENV CWAY_MCP_STATE_DIR=/var/lib/cway-mcp \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["cway-mcp", "serve", "--host", "0.0.0.0", "--port", "8000"]

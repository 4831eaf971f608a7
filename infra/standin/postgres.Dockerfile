# The postgres stand-in: Debian's PostgreSQL (BASE, imported from an mmdebstrap rootfs by
# infra/image_test.py) with an entrypoint honouring the official image's variables.
ARG BASE
FROM ${BASE}
# Debian's client commands (pg_isready...) are wrappers that follow the cluster the package
# made at install: drop that cluster, and put the server's own binaries first on PATH.
RUN rm -rf /etc/postgresql/*/main /var/lib/postgresql/*/main \
    && ln -s /usr/lib/postgresql/*/bin/* /usr/local/bin/
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]

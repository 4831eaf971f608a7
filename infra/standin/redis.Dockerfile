# The redis stand-in: Debian's Redis (BASE, imported from an mmdebstrap rootfs by
# infra/image_test.py) with an entrypoint behaving like the official image's.
ARG BASE
FROM ${BASE}
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]

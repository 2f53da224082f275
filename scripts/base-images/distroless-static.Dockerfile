# gcr.io/distroless/static-debian12:nonroot made locally
# (scripts/base-images.sh): what a static binary needs and nothing else,
# no shell, no package manager. The root is put together in a Debian
# stage and copied alone into an empty image.
ARG BASE=debian:bookworm-slim
FROM ${BASE} AS root
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY passwd group nsswitch.conf os-release /rootfs/etc/
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/usr/share /rootfs/tmp /rootfs/root /rootfs/home/nonroot \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && cp -a /usr/share/zoneinfo /rootfs/usr/share/ \
 && chmod 1777 /rootfs/tmp \
 && chmod 0700 /rootfs/root \
 && chown 65532:65532 /rootfs/home/nonroot \
 && chmod 0644 /rootfs/etc/passwd /rootfs/etc/group /rootfs/etc/nsswitch.conf /rootfs/etc/os-release

FROM scratch
COPY --from=root /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot

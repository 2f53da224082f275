#!/usr/bin/env bash
# Builds camstream/capture:dev and camstream/edge:dev (the dev overlay's
# images) with buildah, without a Docker daemon or a registry, exactly from
# Dockerfile.capture and Dockerfile.edge at the repository root. Base images
# that are not in the local storage are made first (scripts/base-images.sh).
# IMAGES_OUT=DIR also writes DIR/capture.tar and DIR/edge.tar, OCI archives
# for `podman load -i`, `ctr image import` or `skopeo copy`.
# TAG (default dev) names the tag. Needs root and buildah.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${TAG:-dev}
command -v buildah >/dev/null || { echo "images: buildah is missing: run 'make deps'" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "images: buildah runs here as root: run 'sudo make images'" >&2; exit 1; }

bash scripts/base-images.sh
# Steps that download (go mod download) trust what this machine trusts,
# e.g. a proxy's own CA: its bundle is mounted, for the build steps only,
# in a directory Go reads besides the image's bundle (/etc/pki/tls/certs).
mounts=()
host_ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
[ ! -f "$host_ca" ] || mounts=(-v "$host_ca:/etc/pki/tls/certs/build-host-ca.crt:ro")
for svc in capture edge; do
  start=$SECONDS
  # --layers keeps each step's result: a rebuild redoes only the steps
  # whose inputs changed. --pull=false uses a base that is here.
  buildah bud --isolation chroot --layers --pull=false -q "${mounts[@]}" \
    -f "Dockerfile.$svc" -t "camstream/$svc:$tag" . >/dev/null
  size=$(buildah images --format '{{.Size}}' "camstream/$svc:$tag" | head -1)
  echo "images: camstream/$svc:$tag built in $((SECONDS - start)) s, $size"
done
if [ -n "${IMAGES_OUT:-}" ]; then
  mkdir -p "$IMAGES_OUT"
  for svc in capture edge; do
    rm -f "$IMAGES_OUT/$svc.tar"
    buildah push -q "camstream/$svc:$tag" "oci-archive:$IMAGES_OUT/$svc.tar:camstream/$svc:$tag"
    echo "images: $IMAGES_OUT/$svc.tar"
  done
fi

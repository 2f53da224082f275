#!/usr/bin/env bash
# Installs the Debian packages camstream needs to build, test and benchmark:
# OpenCV for capture (cgo), the GStreamer RTSP server and ffmpeg for tests,
# Chromium for the browser tests, Prometheus (and promtool) for the
# monitoring tests, nginx (a reverse proxy in front of the edge) and curl
# (HTTP/2 from another client) for the edge's tests, buildah and
# debootstrap for the images. Idempotent: does nothing when all are
# there. As root, or through sudo.
set -euo pipefail

packages=(
  build-essential pkg-config libopencv-dev
  python3-gi gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-rtsp gstreamer1.0-libav
  ffmpeg chromium fonts-dejavu-core ca-certificates git
  nginx-light curl prometheus
  buildah debootstrap debian-archive-keyring
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: missing ${missing[*]}: as root, run 'bash scripts/install-deps.sh'" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"

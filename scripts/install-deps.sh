#!/usr/bin/env bash
# Installs the Debian packages camstream needs to build, test and benchmark:
# OpenCV for capture (cgo), the GStreamer RTSP server and ffmpeg for tests,
# Chromium for the browser tests, Prometheus (and promtool) for the
# monitoring tests, nginx (a reverse proxy in front of the edge) and curl
# (HTTP/2 from another client) for the edge's tests. Idempotent; run as
# root (or with sudo).
set -euo pipefail

packages=(
  build-essential pkg-config libopencv-dev
  python3-gi gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-rtsp gstreamer1.0-libav
  ffmpeg chromium fonts-dejavu-core ca-certificates git
  nginx-light curl prometheus
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
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
